"""The schedules half of plan and apply: job schedules and model monitors, written after what they name.

A schedule amlops owns carries the environment's tag and, per top-level field of its file, a short hash
(`amlops.fields`): the plan says which fields an update changes, and a schedule whose hashes match is left
alone. Schedules tagged for this environment that the manifests no longer list are deleted (disabled
first, as Azure requires). They are applied last: a monitor's target deployment and a scheduled job's
asset versions must exist by then.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from amlops.manifests.repository import Repository
from amlops.release.schedules import ScheduleRelease
from amlops.release.training import AssetPin, TrainingRelease
from amlops.rollout.events import Event, Events, Phase
from amlops.rollout.plan import Change, Plan, ScheduleChange
from amlops.rollout.reads import read_all
from amlops.rollout.training import asset_changes
from amlops.state import record
from amlops.state.record import Lineage
from amlops.workspace.interface import LiveSchedule, ScheduleSpec, Workspace

FIELDS = "amlops.fields"  # per top-level field of the schedule file, a short hash: what an update changed


def observe_baselines(workspace: Workspace, desired: dict[str, ScheduleRelease]) -> dict[AssetPin, dict[str, str] | None]:
    """The tags of each baseline data asset version the monitors compare with (None: not registered)."""
    pins = (pin for s in desired.values() for pin in s.baselines)
    return read_all(lambda pin: workspace.asset_tags(pin.kind, pin.name, pin.version), pins)


def plan_schedules(
    plan: Plan,
    desired: dict[str, ScheduleRelease],
    live: dict[str, LiveSchedule],
    baselines: Mapping[AssetPin, dict[str, str] | None],
) -> Plan:
    """`plan` with the schedules to create, update and delete; their baseline data assets (as observed)
    registered first, unless the workspace has them already."""
    changes = []
    for name, schedule in sorted(desired.items()):
        found = live.get(name)
        if found is None:
            changes.append(ScheduleChange(Change.create, name, schedule.monitor))
            continue
        had = _fields(found.tags)
        changed = tuple(sorted(k for k in set(had) | set(schedule.fields) if had.get(k) != schedule.fields.get(k)))
        if changed or found.tags.get(record.ENVIRONMENT) != plan.environment:
            changes.append(ScheduleChange(Change.replace, name, schedule.monitor, changed))
    changes += [
        ScheduleChange(Change.delete, name, s.monitor)
        for name, s in sorted(live.items())
        if s.tags.get(record.ENVIRONMENT) == plan.environment and name not in desired
    ]
    register, conflicts = asset_changes({pin: tags for pin, tags in baselines.items() if pin not in plan.assets})
    return dataclasses.replace(
        plan,
        schedules=tuple(changes),
        assets=plan.assets + tuple(register),
        conflicts=tuple(dict.fromkeys([*plan.conflicts, *conflicts])),
    )


def apply_schedules(
    workspace: Workspace,
    repo: Repository,
    desired: dict[str, ScheduleRelease],
    training: TrainingRelease | None,
    plan: Plan,
    lineage: Lineage,
    events: Events,
) -> None:
    computes = training.computes if training else {}
    for change in plan.schedules:
        kind = "model monitor" if change.monitor else "job schedule"
        if change.change is Change.delete:
            events(Event("schedules", Phase.endpoint, f"deleting {kind} {change.name}: no longer in the manifests"))
            workspace.delete_schedule(change.name)
            continue
        schedule = desired[change.name]
        verb = "creating" if change.change is Change.create else f"updating ({', '.join(change.fields) or 'tags'})"
        events(Event("schedules", Phase.endpoint, f"{verb} {kind} {change.name}"))
        tags = {
            **lineage.tags(schedule.source),
            record.CONTENT_HASH: schedule.content_hash,
            FIELDS: record.fit(json.dumps(schedule.fields, separators=(",", ":"))),
        }
        workspace.put_schedule(ScheduleSpec(change.name, repo.root / schedule.source, computes, schedule.overrides, tags))


def _fields(tags: dict[str, str]) -> dict[str, str]:
    try:
        found = json.loads(tags.get(FIELDS) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
