"""SdkWorkspace's schedules: job schedules and model monitors through `ml_client.schedules`, and monitor runs.

A schedule is loaded from its file by azure-ai-ml's `load_schedule`, with the spec's overrides (a monitor's
live deployment) as `params_override`, and a scheduled job's clusters on their Azure names, so what reaches
Azure is the file. A monitor's runs are the jobs whose properties name it (`azureml.ScheduleName`); each
run's output `signals` holds one `<signal>.json` per signal, downloaded with `jobs.download`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from azure.ai.ml import MLClient
from azure.ai.ml._restclient.arm_ml_service.models import ScheduleListViewType
from azure.ai.ml.entities import Job, MonitorSchedule
from azure.ai.ml.entities._load_functions import load_schedule
from azure.core.exceptions import ResourceNotFoundError

from amlops.workspace.interface import LiveSchedule, MonitorRun, ScheduleSpec, SignalResult

SCHEDULE_PROPERTY = "azureml.ScheduleName"
SIGNALS_OUTPUT = "signals"
MONITOR_RUNS_READ = 200


class SdkSchedules:
    """Mixed into SdkWorkspace."""

    client: MLClient

    def schedules(self) -> dict[str, LiveSchedule]:
        found = self.client.schedules.list(list_view_type=ScheduleListViewType.ALL)
        return {
            str(s.name): LiveSchedule(str(s.name), isinstance(s, MonitorSchedule), bool(s.is_enabled), dict(s.tags or {}))
            for s in found
        }

    def put_schedule(self, spec: ScheduleSpec) -> None:
        overrides = [{key: value} for key, value in spec.overrides.items()]
        schedule: Any = load_schedule(spec.source, params_override=overrides)
        if isinstance(getattr(schedule, "create_job", None), Job):
            from amlops.workspace.sdk import _place  # the module that mixes this in

            _place(schedule.create_job, spec.computes)
        schedule.tags = {**(schedule.tags or {}), **spec.tags}
        self.client.schedules.begin_create_or_update(schedule).result()

    def delete_schedule(self, name: str) -> None:
        try:
            self.client.schedules.begin_disable(name).result()
        except ResourceNotFoundError:
            return
        self.client.schedules.begin_delete(name).result()

    def monitor_runs(self, monitor: str, limit: int = 5) -> list[MonitorRun]:
        jobs = [j for _, j in zip(range(MONITOR_RUNS_READ), self.client.jobs.list(), strict=False)]
        mine = [j for j in jobs if (j.properties or {}).get(SCHEDULE_PROPERTY) == monitor]
        mine.sort(key=lambda j: j.creation_context.created_at if j.creation_context else 0, reverse=True)
        return [self._monitor_run(monitor, job) for job in mine[:limit]]

    def _monitor_run(self, monitor: str, job: Job) -> MonitorRun:
        status = str(getattr(job.status, "value", job.status))
        created = job.creation_context.created_at if job.creation_context else None
        results: tuple[SignalResult, ...] = ()
        if status == "Completed":
            with tempfile.TemporaryDirectory(prefix="amlops-monitor-") as folder:
                self.client.jobs.download(str(job.name), download_path=folder, output_name=SIGNALS_OUTPUT)
                results = tuple(r for f in sorted(Path(folder).rglob("*.json")) for r in signal_results(f))
        return MonitorRun(monitor, str(job.name), status, created.isoformat() if created else "", results)


def signal_results(path: Path) -> list[SignalResult]:
    """The metrics of one signal's output file."""
    doc = json.loads(path.read_text())
    return [
        SignalResult(
            str(doc["signal"]),
            str(m["metric"]),
            str(m.get("feature") or ""),
            float(m["value"]),
            float(m["threshold"]),
            bool(m["breached"]),
        )
        for m in doc.get("metrics") or []
    ]
