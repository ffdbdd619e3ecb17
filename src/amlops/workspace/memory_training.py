"""The in-memory workspace's training half: asset versions, clusters, jobs and batch endpoints.

Azure's rules it keeps, with their sources:
- an asset version is immutable: registering a name and version that exist is refused (Azure ML answers
  409/400 "already exists"; learn.microsoft.com/azure/machine-learning/concept-data, "Data asset ...
  versions are immutable", and the same for components and environments, how-to-manage-environments-v2).
  amlops never registers a version twice, so this twin refuses even identical content, stricter than Azure.
- a job names clusters that exist in the workspace, or serverless, and components and environments that
  are registered; otherwise submission fails with 400 (how-to-use-serverless-compute; REST Jobs - Create).
- job statuses follow JobStatus (REST spec, api-version 2025-12-01): NotStarted -> Starting -> Preparing ->
  Queued -> Running -> Finalizing -> Completed, or Failed; a cancel passes through CancelRequested to
  Canceled, and a finished job stays as it is. A pipeline's steps run in file order here (Azure runs
  independent steps in parallel: the order of their statuses is not part of the interface); a failed
  step fails the pipeline and cancels the steps not yet finished.
- a batch endpoint's default names one of its deployments, and the default deployment cannot be deleted
  (learn.microsoft.com/azure/machine-learning/how-to-use-batch-model-deployments, "Delete the endpoint
  and the deployment").
Each status advances one step per read of the run, as provisioning does for deployments.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from amlops.manifests.repository import AssetKind
from amlops.manifests.yamlio import plain, read_yaml
from amlops.workspace.interface import (
    JOB_TERMINAL,
    AssetSpec,
    BatchDeploymentSpec,
    BatchEndpointSpec,
    ClusterSpec,
    ComponentJobSpec,
    JobSpec,
    LiveBatchEndpoint,
    Run,
    RunModelSpec,
    RunStep,
)

LIFECYCLE = ("NotStarted", "Starting", "Preparing", "Queued", "Running", "Finalizing", "Completed")
SERVERLESS = "serverless"
_REF = re.compile(r"^azureml:(?P<name>[A-Za-z0-9][\w.-]*):(?P<version>[\w.-]+)$")


class Refused(Exception):
    """What Azure answers with a 4xx: the request breaks a rule of the service."""


@dataclass
class _Job:
    run: Run
    spec: JobSpec | ComponentJobSpec
    fails: set[str]  # pipeline nodes that fail
    fails_itself: bool = False  # a command job that fails
    logs: list[str] = field(default_factory=list)


class MemoryTraining:
    """Mixed into MemoryWorkspace: its writes are recorded through `_wrote`."""

    models: dict[tuple[str, str], dict[str, str]]  # MemoryWorkspace's model versions and their tags

    def __init__(self) -> None:
        self.assets: dict[tuple[AssetKind, str, str], dict[str, str]] = {}
        self.cluster_specs: dict[str, ClusterSpec] = {}
        self.jobs: dict[str, _Job] = {}
        self.batch: dict[str, LiveBatchEndpoint] = {}
        self.failing_steps: set[str] = set()  # pipeline nodes (or command job files' stems) that fail
        self.submitted: list[JobSpec] = []
        self.trained: dict[str, dict[str, bytes]] = {}  # output name -> the files every run leaves in it
        self._jobs_lock = threading.Lock()  # `amlops run` streams logs in one thread and reads statuses in another

    def _wrote(self, what: str) -> None:
        raise NotImplementedError

    # -- reads --------------------------------------------------------------------------------------
    def asset_tags(self, kind: AssetKind, name: str, version: str) -> dict[str, str] | None:
        tags = self.assets.get((kind, name, version))
        return None if tags is None else dict(tags)

    def clusters(self) -> set[str]:
        return set(self.cluster_specs)

    def run(self, name: str) -> Run | None:
        job = self.jobs.get(name)
        if job is None:
            return None
        self._advance(job)
        return job.run

    def runs(self, limit: int = 20) -> list[Run]:
        return [replace(j.run, steps=()) for j in reversed(self.jobs.values())][:limit]

    def stream(self, name: str, write: Callable[[str], None]) -> None:
        job = self.jobs[name]
        while not job.run.terminal:
            self._advance(job)
            for line in job.logs:
                write(line)
            job.logs.clear()

    def step_log(self, run: str) -> str:
        return f"{run}: step log\n"

    def batch_endpoint(self, name: str) -> LiveBatchEndpoint | None:
        return self.batch.get(name)

    def run_inputs(self, name: str) -> dict[str, str]:
        job = self.jobs[name]
        if isinstance(job.spec, ComponentJobSpec):
            return {key: path for key, (_, path) in job.spec.inputs.items()}
        declared = _job_data(job.spec.source).get("inputs") or {}
        given = {k: str(v.get("path") if isinstance(v, dict) else v) for k, v in declared.items()}
        return {**given, **job.spec.inputs}

    def download_output(self, run: str, output: str, into: Path) -> Path:
        job = self.jobs[run]
        if not job.run.terminal:  # azure-ai-ml's jobs.download: "Download is allowed only in states ..."
            raise Refused(f"run {run} is {job.run.status}: download is allowed only once it has finished")
        folder = into / "named-outputs" / output
        for relative, content in self.trained.get(output, {}).items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_bytes(content)
        return folder

    def model_versions(self, name: str) -> dict[str, dict[str, str]]:
        return {version: dict(tags) for (model, version), tags in self.models.items() if model == name}

    # -- writes -------------------------------------------------------------------------------------
    def register_run_model(self, spec: RunModelSpec) -> None:
        job = self.jobs.get(spec.run)
        if job is None or job.run.status != "Completed":
            raise Refused(f"{spec.path}: run {spec.run} has no finished output {spec.output}")
        if (spec.name, spec.version) in self.models:
            raise Refused(f"model {spec.name}:{spec.version} already exists: versions are immutable")
        self.models[(spec.name, spec.version)] = dict(spec.tags)
        self._wrote(f"register model {spec.name}:{spec.version} from {spec.path}")

    def register_asset(self, spec: AssetSpec) -> None:
        key = (spec.kind, spec.name, spec.version)
        if key in self.assets:
            raise Refused(f"{spec.kind.noun} {spec.name}:{spec.version} already exists: versions are immutable")
        self.assets[key] = dict(spec.tags)
        self._wrote(f"register {spec.kind.value} {spec.name}:{spec.version}")

    def put_cluster(self, spec: ClusterSpec) -> None:
        self.cluster_specs[spec.name] = spec
        self._wrote(f"put cluster {spec.name}")

    def submit(self, spec: JobSpec) -> Run:
        data = _job_data(spec.source)
        for compute in _computes(data):
            azure = spec.computes.get(compute, compute)
            if azure != SERVERLESS and azure not in self.cluster_specs:
                raise Refused(f"compute {azure!r} does not exist in this workspace")
        for kind, name, version in _references(data):
            if (kind, name, version) not in self.assets:
                raise Refused(f"{kind.noun} {name}:{version} is not registered")
        nodes = list((data.get("jobs") or {}).keys())
        name = f"{spec.source.stem.replace('-', '_')}_{len(self.jobs) + 1:04d}"
        run = Run(
            name=name,
            display_name=str(data.get("display_name") or name),
            experiment=str(data.get("experiment_name") or spec.source.stem),
            kind=str(data.get("type") or "command"),
            status=LIFECYCLE[0],
            studio_url=f"https://ml.azure.com/runs/{name}?wsid=/memory/{name}",
            created=f"2026-01-01T00:00:{len(self.jobs):02d}",
            steps=tuple(RunStep(node, f"{name}_{node}", LIFECYCLE[0]) for node in nodes),
            tags=dict(spec.tags),
        )
        fails = {n for n in nodes if n in self.failing_steps}
        self.jobs[name] = _Job(run, spec, fails, fails_itself=not nodes and spec.source.stem in self.failing_steps)
        self.submitted.append(spec)
        self._wrote(f"submit {spec.source.name} as {name}")
        return run

    def cancel(self, name: str) -> None:
        job = self.jobs[name]
        if not job.run.terminal:
            job.run = replace(job.run, status="CancelRequested")
        self._wrote(f"cancel {name}")

    def put_batch_endpoint(self, spec: BatchEndpointSpec) -> None:
        existing = self.batch.get(spec.name)
        deployments = existing.deployments if existing else {}
        if spec.default is not None and spec.default not in deployments:
            raise Refused(f"default deployment {spec.default} does not exist behind {spec.name}")
        self.batch[spec.name] = LiveBatchEndpoint(spec.name, spec.default, dict(spec.tags), deployments)
        self._wrote(f"put batch endpoint {spec.name}")

    def put_batch_deployment(self, spec: BatchDeploymentSpec) -> None:
        endpoint = self.batch.get(spec.endpoint)
        if endpoint is None:
            raise Refused(f"batch endpoint {spec.endpoint} not found")
        if spec.compute and spec.compute not in self.cluster_specs:
            raise Refused(f"compute {spec.compute!r} does not exist in this workspace")
        endpoint.deployments[spec.name] = dict(spec.tags)
        self._wrote(f"put batch deployment {spec.endpoint}/{spec.name}")

    def delete_batch_deployment(self, endpoint: str, name: str) -> None:
        live = self.batch[endpoint]
        if live.default == name:
            raise Refused(f"{name} is the default deployment of {endpoint}: it cannot be deleted")
        del live.deployments[name]
        self._wrote(f"delete batch deployment {endpoint}/{name}")

    # -- helpers ------------------------------------------------------------------------------------
    def _advance(self, job: _Job) -> None:
        with self._jobs_lock:
            self._advance_unlocked(job)

    def _advance_unlocked(self, job: _Job) -> None:
        """One status forward: the next unfinished step (or the command job itself), then the pipeline."""
        run = job.run
        if run.terminal:
            return
        if run.status == "CancelRequested":
            canceled = tuple(s if s.status in JOB_TERMINAL else replace(s, status="Canceled") for s in run.steps)
            job.run = replace(run, status="Canceled", steps=canceled)
            return
        pending = [i for i, s in enumerate(run.steps) if s.status not in JOB_TERMINAL]
        if not pending:  # every step finished, or a command job
            failed = job.fails_itself and run.status == "Running"
            job.run = replace(run, status="Failed" if failed else _next(run.status))
            job.logs.append(f"{run.name}: {job.run.status}\n")
            return
        index = pending[0]
        step = run.steps[index]
        status = "Failed" if step.node in job.fails and step.status == "Running" else _next(step.status)
        steps = list(run.steps)
        steps[index] = replace(step, status=status)
        job.logs.append(f"{step.node}: {status}\n")
        if status == "Failed":
            steps = [s if s.status in JOB_TERMINAL else replace(s, status="Canceled") for s in steps]
            job.run = replace(run, status="Failed", steps=tuple(steps), error=f"step {step.node} failed")
            return
        job.run = replace(run, status="Running", steps=tuple(steps))


def _next(status: str) -> str:
    return LIFECYCLE[min(LIFECYCLE.index(status) + 1, len(LIFECYCLE) - 1)] if status in LIFECYCLE else "Running"


def _job_data(source: Path) -> dict[str, Any]:
    document, problems = read_yaml(source, source.name)
    if document is None:
        raise Refused("; ".join(str(p) for p in problems))
    data = plain(document.data)
    return data if isinstance(data, dict) else {}


def _computes(data: dict[str, Any]) -> Iterator[str]:
    settings = data.get("settings") or {}
    for compute in [
        data.get("compute"),
        settings.get("default_compute"),
        *(n.get("compute") for n in (data.get("jobs") or {}).values()),
    ]:
        if isinstance(compute, str):
            yield compute.removeprefix("azureml:")


def _references(data: dict[str, Any]) -> Iterator[tuple[AssetKind, str, str]]:
    """Registered assets a job names: its steps' components, its environment, its data inputs."""
    refs = [(AssetKind.component, n.get("component")) for n in (data.get("jobs") or {}).values()]
    refs.append((AssetKind.environment, data.get("environment")))
    refs += [(AssetKind.data, i.get("path")) for i in (data.get("inputs") or {}).values() if isinstance(i, dict)]
    refs += [(AssetKind.data, data.get(k)) for k in ("training_data", "validation_data")]
    for kind, ref in refs:
        match = _REF.match(ref) if isinstance(ref, str) else None
        if match:
            yield kind, match["name"], match["version"]
