"""What an environment schedules, pure: each schedule file with the hash of each of its fields.

A field's hash covers the file as parsed and what it names: a scheduled job file's content (a change to
the job is a change to the schedule, which carries the job whole), and for a model monitor the live
deployment it watches. Deployment names in Azure carry a spec hash (`main-0fa447a8`), so a monitor of
`azureml:churn:main` is bound at apply to the Azure name the release serves, and so are the paths under
`modelDataCollector/<endpoint>/<deployment>/` where Azure's data collector writes that deployment's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amlops.manifests.repository import AssetKind, Repository
from amlops.manifests.schedules import baseline, monitor_target, scheduled_job, signals
from amlops.manifests.training_checks import parse_versioned
from amlops.manifests.yamlio import Document, plain
from amlops.release.bundle import Release, digest
from amlops.release.training import AssetPin, content_hash

COLLECTED = "modelDataCollector/{endpoint}/{deployment}/"
_TARGET = "create_monitor.monitoring_target.endpoint_deployment_id"


@dataclass(frozen=True)
class ScheduleRelease:
    name: str  # the schedule's name in the workspace (the file's `name`)
    source: str  # the schedule file, relative to the repository root
    monitor: bool
    job: str | None = None  # the repository job a job schedule submits
    overrides: dict[str, str] = field(default_factory=dict)  # dotted field -> value, bound to the release
    fields: dict[str, str] = field(default_factory=dict)  # top-level field -> short hash
    baselines: tuple[AssetPin, ...] = ()  # the data assets a monitor's signals compare with

    @property
    def content_hash(self) -> str:
        return digest(self.fields)


def build_schedules(repo: Repository, environment: str, release: Release) -> dict[str, ScheduleRelease]:
    """`environment`'s schedules. The repository must have validated."""
    out = {}
    for name in repo.environments[environment].environment.schedules:
        file = repo.schedules[name]
        data = plain(file.document.data)
        fields = {key: digest(value)[:8] for key, value in data.items() if key != "$schema"}
        job = None
        overrides: dict[str, str] = {}
        if file.monitor:
            overrides = _bind(file.document, release)
            fields["(deployment)"] = digest(overrides)[:8]
        else:
            _, job = scheduled_job(repo, file)
            if job:
                fields["(job)"] = content_hash(repo, repo.jobs[job].document)[:8]
        baselines = _baselines(repo, file.document) if file.monitor else ()
        out[file.azure_name] = ScheduleRelease(
            file.azure_name, file.document.path, file.monitor, job or None, overrides, fields, baselines
        )
    return out


def _baselines(repo: Repository, document: Document) -> tuple[AssetPin, ...]:
    pins = {}
    for spec in signals(document).values():
        parsed = parse_versioned(ref) if (ref := baseline(spec)) else None
        asset = repo.asset(AssetKind.data, *parsed) if parsed else None
        if asset is not None:
            pins[asset.key] = AssetPin(AssetKind.data, *asset.key, content_hash(repo, asset.document), asset.document.path)
    return tuple(pins[k] for k in sorted(pins))


def _bind(document: Document, release: Release) -> dict[str, str]:
    """A monitor's target and collected-data paths, on the Azure name of the deployment the release serves."""
    target = monitor_target(document)
    endpoint = release.endpoints.get(target[0]) if target else None
    deployment = endpoint.deployments.get(target[1]) if endpoint and target else None
    if target is None or deployment is None:
        return {}
    azure = deployment.azure_name
    overrides = {_TARGET: f"azureml:{target[0]}:{azure}"}
    written = COLLECTED.format(endpoint=target[0], deployment=target[1])
    for signal, spec in signals(document).items():
        path = ((spec.get("production_data") or {}).get("input_data") or {}).get("path")
        if isinstance(path, str) and written in path:
            key = f"create_monitor.monitoring_signals.{signal}.production_data.input_data.path"
            overrides[key] = path.replace(written, COLLECTED.format(endpoint=target[0], deployment=azure))
    return overrides
