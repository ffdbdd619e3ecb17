"""Schedules: `schedules/<name>.yml`, Azure ML CLI v2 schedule files as users write them.

A job schedule (`create_job`, a cron or recurrence `trigger`) submits a job of the repository, or one
Azure already has (`azureml:<job>`); a model monitor (`create_monitor`) is a schedule too, in Azure ML's
own model (`MonitorSchedule`). Each file is loaded by azure-ai-ml's `load_schedule`, so a file the SDK
cannot load is an error at validate; the rules below add what the SDK checks only when Azure answers, or
never: cron syntax, time zone names, the job, endpoint, deployment and baseline data a schedule names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from azure.ai.ml.constants import TimeZone
from azure.ai.ml.entities._load_functions import load_schedule
from croniter import croniter
from marshmallow import ValidationError as SchemaError

from amlops.manifests.environment import EndpointChoice, Platform
from amlops.manifests.errors import Problem
from amlops.manifests.load import _read_azure, _yaml_files
from amlops.manifests.repository import AssetKind, EnvironmentFile, Repository, ScheduleFile
from amlops.manifests.training_checks import asset_problem
from amlops.manifests.yamlio import Document, FieldPath

SCHEDULES = "schedules"
#: Azure ML's time zone names (Windows names: reference-yaml-schedule, "time_zone"), as the SDK lists them.
TIME_ZONES = frozenset(t.value for t in TimeZone)
#: The signals the local control plane computes (Azure also has feature attribution drift, custom, generation).
LOCAL_SIGNALS = ("data_drift", "prediction_drift", "data_quality")


def load_schedules(root: Path) -> tuple[dict[str, ScheduleFile], list[Problem]]:
    schedules: dict[str, ScheduleFile] = {}
    problems: list[Problem] = []
    for path in _yaml_files(root / SCHEDULES):
        document, schedule, found = _read_azure(path, root, read_schedule)
        problems += found
        if document is None or schedule is None:
            continue
        taken = next((f for f in schedules.values() if f.azure_name == schedule.name), None)
        if taken is not None:
            problems.append(document.problem(("name",), f"schedule {schedule.name!r} is also defined in {taken.document.path}"))
            continue
        schedules[path.stem] = ScheduleFile(path.stem, document, schedule)
    return schedules, problems


def read_schedule(path: Path, **kwargs: Any) -> Any:
    """`load_schedule`, its schema errors reported as one plain report of the fields at fault.

    azure-ai-ml 1.35 wraps a job schedule's errors in a second report, lists a monitor signal's errors once
    per signal type it might be, and hides a monitor's errors behind a NotImplementedError (its
    `_create_schema_for_validation`): unwrap all three, keeping the signal type the file names."""
    try:
        return load_schedule(path, **kwargs)
    except NotImplementedError as exc:
        if isinstance(exc.__context__, SchemaError):
            raise _plain(exc.__context__) from None
        raise
    except SchemaError as exc:
        raise _plain(exc) from None


_REPORT = re.compile(r"failed:\s*(\{.*\})", re.DOTALL)


def _plain(exc: SchemaError) -> SchemaError:
    report = _report(str(exc.messages[0] if isinstance(exc.messages, list) and exc.messages else exc))
    return SchemaError(f"Validation for schedule failed:\n\n {json.dumps(_one_kind(report))}") if report else exc


def _report(text: str) -> dict[str, Any] | None:
    match = _REPORT.search(text)
    if match is None:
        return None
    try:
        report = json.loads(match.group(1).rsplit("}", 1)[0] + "}")
    except json.JSONDecodeError:
        return None
    errors = report.get("errors") if isinstance(report, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):  # the wrapped report
        return _report(str(errors[0].get("message", ""))) or report
    return report if isinstance(report, dict) else None


def _one_kind(node: Any) -> Any:
    """A union's errors, one list per alternative: keep the alternative whose `type` matched (fewest errors)."""
    if isinstance(node, dict) and set(node) == {"value"} and isinstance(node["value"], list) and node["value"]:
        alternatives = [a for a in node["value"] if isinstance(a, dict)]
        if alternatives:
            return _one_kind(min(alternatives, key=lambda a: ("type" in a, len(json.dumps(a)))))
    if isinstance(node, dict):
        return {k: _one_kind(v) for k, v in node.items()}
    return node


def schedule_files(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """Each schedule's trigger: a five-field cron expression, a time zone Azure knows."""
    for file in repo.schedules.values():
        trigger = _mapping(file.document.data.get("trigger"))
        if trigger.get("type") == "cron":
            expression = str(trigger.get("expression", ""))
            if len(expression.split()) != 5 or not croniter.is_valid(expression):
                yield file.document.problem(
                    ("trigger", "expression"), f"{expression!r} is not a cron expression (minute hour day month weekday)"
                )
        zone = trigger.get("time_zone")
        if zone is not None and zone not in TIME_ZONES:
            yield file.document.problem(
                ("trigger", "time_zone"),
                f"{zone!r} is not an Azure time zone (Windows names, e.g. 'UTC', 'W. Europe Standard Time')",
            )


def environment_schedules(repo: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """Schedules an environment applies exist; their jobs, endpoints, deployments and baselines are its own."""
    for env in environments:
        for index, name in enumerate(env.environment.schedules):
            file = repo.schedules.get(name)
            if file is None and _unloaded(repo, name):
                continue  # its own problems stand
            if file is None:
                yield env.document.problem(
                    ("schedules", index), f"no schedule {name!r} in {SCHEDULES}/ (it has: {_names(repo.schedules)})"
                )
            elif file.monitor:
                yield from _monitor_problems(repo, env, file)
            else:
                yield from _job_problems(repo, env, file)
        for name, choice in env.environment.monitors.items():
            file = repo.schedules.get(name)
            if file is None and _unloaded(repo, name):
                continue
            if name not in env.environment.schedules or file is None or not file.monitor:
                yield env.document.problem(("monitors", name), f"{name!r} is not a model monitor of this environment's schedules")
            run = choice.on_breach.run if choice.on_breach else None
            if run is not None and run not in env.environment.jobs:
                yield env.document.problem(
                    ("monitors", name, "on_breach", "run"),
                    f"{run!r} is not one of this environment's jobs ({_names(env.environment.jobs)})",
                )


def scheduled_job(repo: Repository, file: ScheduleFile) -> tuple[FieldPath, str | None]:
    """(field, job name) of the repository job a job schedule submits; None for `azureml:` or inline jobs."""
    create = file.document.data.get("create_job")
    field: FieldPath = ("create_job",)
    if isinstance(create, dict):
        create, field = create.get("job"), ("create_job", "job")
    if not isinstance(create, str) or create.startswith("azureml:"):
        return field, None
    target = ((repo.root / file.document.path).parent / create).resolve()
    return field, next((j.name for j in repo.jobs.values() if (repo.root / j.document.path).resolve() == target), "")


def _job_problems(repo: Repository, env: EnvironmentFile, file: ScheduleFile) -> Iterator[Problem]:
    field, job = scheduled_job(repo, file)
    if job == "":
        yield file.document.problem(field, f"names no job file of jobs/ (it has: {_names(repo.jobs)})")
    elif job is not None and job not in env.environment.jobs:
        yield file.document.problem(field, f"job {job!r} is not one of {env.environment.name}'s jobs: add it to `jobs` there")


def monitor_target(document: Document) -> tuple[str, str] | None:
    """(endpoint, deployment) a monitor watches, from `azureml:<endpoint>:<deployment>`."""
    target = _mapping(_mapping(document.data.get("create_monitor")).get("monitoring_target")).get("endpoint_deployment_id")
    parts = str(target).removeprefix("azureml:").split(":") if isinstance(target, str) else []
    return (parts[0], parts[1]) if len(parts) == 2 else None


def signals(document: Document) -> dict[str, dict[str, Any]]:
    return {
        k: v
        for k, v in _mapping(_mapping(document.data.get("create_monitor")).get("monitoring_signals")).items()
        if isinstance(v, dict)
    }


def baseline(signal: dict[str, Any]) -> str | None:
    """The reference data a signal compares against, as the file names it."""
    path = _mapping(_mapping(signal.get("reference_data")).get("input_data")).get("path")
    return path if isinstance(path, str) else None


def _monitor_problems(repo: Repository, env: EnvironmentFile, file: ScheduleFile) -> Iterator[Problem]:
    target, where = monitor_target(file.document), ("create_monitor", "monitoring_target", "endpoint_deployment_id")
    choice = env.environment.endpoints.get(target[0]) if target else None
    if target is None:
        yield file.document.problem(where, "name the deployment it watches: azureml:<endpoint>:<deployment>")
    elif not isinstance(choice, EndpointChoice) or target[1] not in choice.deployments:
        yield file.document.problem(where, f"{env.environment.name} serves no deployment {target[1]!r} of endpoint {target[0]!r}")
    for name, signal in signals(file.document).items():
        field: FieldPath = ("create_monitor", "monitoring_signals", name)
        if env.environment.platform is Platform.local and signal.get("type") not in LOCAL_SIGNALS:
            yield file.document.problem(
                (*field, "type"), f"the local control plane computes {', '.join(LOCAL_SIGNALS)} signals only"
            )
        ref = baseline(signal)
        message = (
            asset_problem(repo, AssetKind.data, ref) if ref else "a signal needs reference_data.input_data.path (its baseline)"
        )
        if message:
            yield file.document.problem((*field, "reference_data", "input_data", "path") if ref else field, message)


def _unloaded(repo: Repository, name: str) -> bool:
    return any((repo.root / SCHEDULES / f"{name}{suffix}").is_file() for suffix in (".yml", ".yaml"))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(items: Any) -> str:
    return ", ".join(sorted(items)) or "none"
