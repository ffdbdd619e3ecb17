"""The in-memory workspace's schedules: job schedules and model monitors, and the monitor runs a test sets.

Azure's rules it keeps: a schedule is enabled unless its file says `is_enabled: false`
(reference-yaml-schedule); a delete disables the schedule first, as SdkWorkspace does (two writes).
Monitor runs are what a test puts in
`monitor_results`: the twin does not compute signals (the local control plane does, through the SDK).
"""

from __future__ import annotations

from dataclasses import replace

from amlops.manifests.yamlio import read_yaml
from amlops.workspace.interface import LiveSchedule, MonitorRun, ScheduleSpec
from amlops.workspace.memory_training import Refused


class MemorySchedules:
    """Mixed into MemoryWorkspace: its writes are recorded through `_wrote`."""

    def __init__(self) -> None:
        self.schedule_specs: dict[str, ScheduleSpec] = {}
        self.live_schedules: dict[str, LiveSchedule] = {}
        self.monitor_results: dict[str, list[MonitorRun]] = {}  # monitor -> its runs, newest first

    def _wrote(self, what: str) -> None:
        raise NotImplementedError

    def schedules(self) -> dict[str, LiveSchedule]:
        return {n: replace(s, tags=dict(s.tags)) for n, s in self.live_schedules.items()}

    def monitor_runs(self, monitor: str, limit: int = 5) -> list[MonitorRun]:
        return list(self.monitor_results.get(monitor, []))[:limit]

    def put_schedule(self, spec: ScheduleSpec) -> None:
        document, problems = read_yaml(spec.source, spec.source.name)
        if document is None:
            raise Refused("; ".join(str(p) for p in problems))
        data = document.data
        enabled = data.get("is_enabled", True) is not False
        self.schedule_specs[spec.name] = spec
        self.live_schedules[spec.name] = LiveSchedule(spec.name, "create_monitor" in data, enabled, dict(spec.tags))
        self._wrote(f"put_schedule {spec.name}")

    def delete_schedule(self, name: str) -> None:
        found = self.live_schedules.get(name)
        if found is None:
            return
        self.live_schedules[name] = replace(found, enabled=False)
        self._wrote(f"disable_schedule {name}")
        del self.live_schedules[name]
        self.schedule_specs.pop(name, None)
        self._wrote(f"delete_schedule {name}")
