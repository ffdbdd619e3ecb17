"""The workspace through azure-ai-ml: the same code against Azure and against the local control plane.

Reads are proportional to what is asked for and issued concurrently: one list of endpoints, one list
of deployments per endpoint of interest, one read per model version, one list of serverless endpoints.
Entities are loaded from the user's files by azure-ai-ml's own loaders, so what reaches Azure is what
the files say, plus only the overrides a spec names.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from threading import Lock as ThreadLock
from typing import Any, TypeVar

import requests
from azure.ai.ml import (
    Input,
    MLClient,
    Output,
    load_batch_endpoint,
    load_component,
    load_data,
    load_environment,
    load_job,
    load_model,
    load_online_deployment,
    load_online_endpoint,
    load_serverless_endpoint,
)
from azure.ai.ml.entities import (
    AmlCompute,
    BatchEndpoint,
    Command,
    Job,
    ManagedOnlineEndpoint,
    Model,
    OnlineDeployment,
    OnlineEndpoint,
    PipelineJob,
    ServerlessEndpoint,
)
from azure.ai.ml.entities._load_functions import load_model_batch_deployment, load_pipeline_component_batch_deployment
from azure.ai.ml.exceptions import JobException
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError, ServiceResponseError

from amlops.manifests import sdk_frames
from amlops.manifests.repository import AssetKind
from amlops.state import record
from amlops.state.live import LiveDeployment, LiveEndpoint, LiveModel, LiveServerless, LiveState, nonzero
from amlops.state.record import Measurement
from amlops.workspace import sdk_threads
from amlops.workspace.autoscale import SdkAutoscale
from amlops.workspace.interface import (
    READERS,
    Answer,
    AssetSpec,
    AutoscaleSpec,
    BatchDeploymentSpec,
    BatchEndpointSpec,
    ClusterSpec,
    ComponentJobSpec,
    DeploymentSpec,
    EndpointSpec,
    JobSpec,
    LiveBatchEndpoint,
    ModelSpec,
    Registry,
    Run,
    RunModelSpec,
    RunStep,
    ServerlessSpec,
    Unavailable,
)
from amlops.workspace.metrics import MetricsSource
from amlops.workspace.registry import SdkRegistry
from amlops.workspace.sdk_schedules import SdkSchedules
from amlops.workspace.traffic import SyntheticLoad
from amlops.workspace.transport import session

sdk_frames.install()  # its reads convert REST objects, each asking the check it makes fast
sdk_threads.install()  # rollouts run in parallel threads, each submitting deployments

_ASSET_LOADERS: dict[AssetKind, Any] = {
    AssetKind.environment: load_environment,
    AssetKind.data: load_data,
    AssetKind.component: load_component,
}
_BATCH_LOADERS: dict[str, Any] = {"model": load_model_batch_deployment, "pipeline": load_pipeline_component_batch_deployment}
#: How many top-level jobs `runs` reads before sorting them newest first.
RUNS_READ = 200

#: HTTP statuses that say "not now" rather than "no": throttled, or the service unavailable for a while.
TRANSIENT = {408, 429, 500, 502, 503, 504}

F = TypeVar("F", bound=Callable[..., Any])


def unavailable_as_such(method: F) -> F:
    """Azure's "not now" (throttling, 5xx, a lost connection, past azure-core's retries) as `Unavailable`, so a
    rollout stops where its record says and resumes later, instead of taking it for a refusal and rolling back."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (ServiceRequestError, ServiceResponseError, requests.ConnectionError) as exc:
            raise Unavailable(f"lost the connection to Azure ML: {_first_line(exc)}") from exc
        except HttpResponseError as exc:
            if exc.status_code in TRANSIENT:
                raise Unavailable(f"Azure ML answered {exc.status_code}: {_first_line(exc)}") from exc
            raise

    return call  # type: ignore[return-value]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


class SdkWorkspace(SdkSchedules):
    def __init__(
        self,
        environment: str,
        client: MLClient,
        metrics: MetricsSource,
        local: bool,
        autoscale: SdkAutoscale | None = None,
        mltable_schema: str | None = None,
        verify: str | bool = True,
    ) -> None:
        self.environment, self.client, self.metrics, self.local = environment, client, metrics, local
        self.verify = verify  # what scoring requests verify TLS with: a CA file, or True for the environment's
        self.autoscale = autoscale  # Azure Monitor's autoscale settings; None where no monitor client was given
        # Where azure-ai-ml fetches the MLTable schema before registering an mltable data asset: Azure's schema
        # host by default (None); the local control plane serves one, so no registration waits on the internet.
        self.mltable_schema = mltable_schema
        self._files: dict[Path, Any] = {}
        self._files_lock = ThreadLock()

    # -- reads --------------------------------------------------------------------------------------
    @unavailable_as_such
    def observe(self, endpoints: Collection[str] = (), models: Collection[tuple[str, str]] = ()) -> LiveState:
        wanted = set(endpoints)
        with ThreadPoolExecutor(READERS, thread_name_prefix="observe") as pool:
            serverless = pool.submit(lambda: list(self.client.serverless_endpoints.list()))
            found = pool.map(self._model, sorted(models))
            listed = [
                e
                for e in self.client.online_endpoints.list()
                if e.name in wanted or (e.tags or {}).get(record.ENVIRONMENT) == self.environment
            ]
            deployments = pool.map(lambda e: list(self.client.online_deployments.list(e.name)), listed)
            live = {e.name: _endpoint(e, d) for e, d in zip(listed, deployments, strict=True)}
            return LiveState(
                live,
                {(m.name, m.version): m for m in found if m is not None},
                {s.name: LiveServerless(s.name, str(s.model_id), dict(s.tags or {})) for s in serverless.result()},
            )

    @unavailable_as_such
    def endpoint(self, name: str) -> LiveEndpoint | None:
        try:
            endpoint = self.client.online_endpoints.get(name)
        except ResourceNotFoundError:
            return None
        return _endpoint(endpoint, list(self.client.online_deployments.list(name)))

    def logs(self, endpoint: str, deployment: str, lines: int = 20) -> str:
        return str(self.client.online_deployments.get_logs(name=deployment, endpoint_name=endpoint, lines=lines) or "")

    @unavailable_as_such
    def measure(self, endpoint: str, deployments: Sequence[str], since: float) -> Measurement:
        return self.metrics.measure(endpoint, deployments, since)

    def invoke(self, endpoint: str, body: bytes, deployment: str | None = None) -> Answer:
        uri, key = self._credentials(endpoint)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        if deployment:
            headers["azureml-model-deployment"] = deployment
        try:
            response = session().post(uri, data=body, headers=headers, timeout=60, verify=self.verify)
        except requests.RequestException as exc:
            return Answer(0, str(exc))
        return Answer(response.status_code, response.text)

    @contextmanager
    def load(self, endpoint: str, body: bytes) -> Iterator[SyntheticLoad]:
        uri, key = self._credentials(endpoint)
        with SyntheticLoad(uri, key, body, verify=self.verify) as load:
            yield load

    def model_tags(self, name: str, version: str) -> dict[str, str] | None:
        model = self._model((name, version))
        return None if model is None else model.tags

    def registry(self, name: str) -> Registry:
        return SdkRegistry(self.client, name)

    @unavailable_as_such
    def asset_tags(self, kind: AssetKind, name: str, version: str) -> dict[str, str] | None:
        try:
            asset = self._assets(kind).get(name, version=version)
        except ResourceNotFoundError:
            return None
        return dict(asset.tags or {})

    @unavailable_as_such
    def clusters(self) -> set[str]:
        return {str(c.name) for c in self.client.compute.list()}

    @unavailable_as_such
    def run(self, name: str) -> Run | None:
        try:
            job = self.client.jobs.get(name)
        except ResourceNotFoundError:
            return None
        steps: tuple[RunStep, ...] = ()
        if isinstance(job, PipelineJob):
            children = self.client.jobs.list(parent_job_name=name)
            steps = tuple(RunStep(str(c.display_name or c.name), str(c.name), state(c.status)) for c in children)
        return self._run(job, steps)

    @unavailable_as_such
    def runs(self, limit: int = 20) -> list[Run]:
        jobs = [job for _, job in zip(range(RUNS_READ), self.client.jobs.list(), strict=False)]
        found = [self._run(job) for job in jobs]
        return sorted(found, key=lambda r: r.created, reverse=True)[:limit]

    def stream(self, name: str, write: Callable[[str], None]) -> None:
        with contextlib.redirect_stdout(_Forward(write)), contextlib.suppress(JobException):  # a failed run is a result
            self.client.jobs.stream(name)

    @unavailable_as_such
    def step_log(self, run: str) -> str:
        """A finished pipeline step's own log (`user_logs/std_log.txt`), downloaded: the SDK streams no child job."""
        with tempfile.TemporaryDirectory(prefix="amlops-log-") as folder:
            self.client.jobs.download(run, download_path=folder)
            logs = sorted(Path(folder).rglob("std_log*.txt"))
            return "".join(log.read_text(errors="replace") for log in logs)

    @unavailable_as_such
    def batch_endpoint(self, name: str) -> LiveBatchEndpoint | None:
        try:
            endpoint = self.client.batch_endpoints.get(name)
        except ResourceNotFoundError:
            return None
        deployments = {str(d.name): dict(d.tags or {}) for d in self.client.batch_deployments.list(endpoint_name=name)}
        default = endpoint.defaults.deployment_name if endpoint.defaults else None
        return LiveBatchEndpoint(str(endpoint.name), default or None, dict(endpoint.tags or {}), deployments)

    @unavailable_as_such
    def run_inputs(self, name: str) -> dict[str, str]:
        inputs: dict[str, str] = {}
        for key, value in (self.client.jobs.get(name).inputs or {}).items():
            given = getattr(value, "_data", value)  # a pipeline's inputs wrap what was submitted
            path = str(given.path) if isinstance(given, Input) else None
            if path is not None and ":" in path and "/" not in path and not path.startswith("azureml:"):
                path = f"azureml:{path}"  # the SDK reads an asset input back as `<name>:<version>`
            inputs[str(key)] = path if path is not None else str(given)
        return inputs

    @unavailable_as_such
    def download_output(self, run: str, output: str, into: Path) -> Path:
        self.client.jobs.download(run, download_path=into, output_name=output)
        return into / "named-outputs" / output  # where azure-ai-ml's jobs.download puts a named output

    @unavailable_as_such
    def model_versions(self, name: str) -> dict[str, dict[str, str]]:
        try:
            return {str(m.version): dict(m.tags or {}) for m in self.client.models.list(name=name)}
        except ResourceNotFoundError:
            return {}

    @unavailable_as_such
    def model_properties(self, name: str, version: str) -> dict[str, str] | None:
        try:
            model = self.client.models.get(name, version=version)
        except ResourceNotFoundError:
            return None
        return {**{str(k): str(v) for k, v in (model.properties or {}).items()}, **dict(model.tags or {})}

    @unavailable_as_such
    def output_file(self, run: str, output: str, path: str) -> bytes | None:
        """Downloaded as `jobs.download(output_name=...)` does (`named-outputs/<output>/...`), the one file read."""
        with tempfile.TemporaryDirectory(prefix="amlops-output-") as folder:
            found = sorted(p for p in self.download_output(run, output, Path(folder)).rglob(path) if p.is_file())
            return found[0].read_bytes() if found else None

    # -- writes -------------------------------------------------------------------------------------
    @unavailable_as_such
    def put_endpoint(self, spec: EndpointSpec) -> None:
        entity = self._load(spec.source, load_online_endpoint) if spec.source else ManagedOnlineEndpoint(name=spec.name)
        entity.name = spec.name
        entity.tags = {**(entity.tags or {}), **spec.tags}
        entity.traffic = dict(spec.traffic)
        entity.mirror_traffic = dict(spec.mirror)
        self.client.online_endpoints.begin_create_or_update(entity).result()

    @unavailable_as_such
    def begin_deployment(self, spec: DeploymentSpec) -> None:
        """The file loaded with amlops's overrides as the loader's `params_override`, as the CLI's `--set`
        applies them: everything else in the file reaches Azure as azure-ai-ml builds it."""
        file = self._load(spec.source, load_online_deployment, params_override=[{"endpoint_name": spec.endpoint}])
        override = {
            "endpoint_name": spec.endpoint,
            "name": spec.name,
            "model": spec.model,
            "instance_type": spec.instance_type,
            "instance_count": spec.instance_count,
            "tags": {**(file.tags or {}), **spec.tags},
        }
        entity = load_online_deployment(spec.source, params_override=[override])
        self.client.online_deployments.begin_create_or_update(entity)

    @unavailable_as_such
    def delete_deployment(self, endpoint: str, name: str) -> None:
        self.client.online_deployments.begin_delete(name=name, endpoint_name=endpoint).result()

    @unavailable_as_such
    def delete_endpoint(self, name: str) -> None:
        self.client.online_endpoints.begin_delete(name=name).result()

    @unavailable_as_such
    def register_model(self, spec: ModelSpec) -> None:
        model = self._load(spec.source, load_model)
        model.name, model.version, model.path = spec.name, spec.version, str(spec.artifact.resolve())
        model.tags = {**(model.tags or {}), **spec.tags}
        self.client.models.create_or_update(model)

    @unavailable_as_such
    def register_run_model(self, spec: RunModelSpec) -> None:
        model = Model(
            name=spec.name, version=spec.version, type=spec.kind, path=spec.path, description=spec.description, tags=spec.tags
        )
        self.client.models.create_or_update(model)

    @unavailable_as_such
    def put_serverless(self, spec: ServerlessSpec) -> None:
        if spec.source:
            entity = self._load(spec.source, load_serverless_endpoint)
        else:
            entity = ServerlessEndpoint(name=spec.name, model_id=spec.model_id)
        entity.name, entity.model_id = spec.name, spec.model_id
        entity.tags = {**(entity.tags or {}), **spec.tags}
        self.client.serverless_endpoints.begin_create_or_update(entity).result()

    @unavailable_as_such
    def delete_serverless(self, name: str) -> None:
        self.client.serverless_endpoints.begin_delete(name).result()

    @unavailable_as_such
    def register_asset(self, spec: AssetSpec) -> None:
        asset = _ASSET_LOADERS[spec.kind](spec.source)  # once per version; a pipeline component cannot be deep-copied
        asset.name, asset.version = spec.name, spec.version
        asset.tags = {**(asset.tags or {}), **spec.tags}
        if self.mltable_schema and spec.kind is AssetKind.data:
            asset._mltable_schema_url = self.mltable_schema  # Data's `mltable_schema_url` argument, after loading
        self._assets(spec.kind).create_or_update(asset)

    @unavailable_as_such
    def put_cluster(self, spec: ClusterSpec) -> None:
        cluster = AmlCompute(
            name=spec.name,
            size=spec.vm_size,
            min_instances=spec.min_nodes,
            max_instances=spec.max_nodes,
            idle_time_before_scale_down=spec.idle_seconds,
            tier="low_priority" if spec.low_priority else "dedicated",
            tags=spec.tags,
        )
        self.client.compute.begin_create_or_update(cluster).result()

    @unavailable_as_such
    def submit(self, spec: JobSpec) -> Run:
        return self._run(self.client.jobs.create_or_update(job_entity(spec)))

    @unavailable_as_such
    def submit_component(self, spec: ComponentJobSpec) -> Run:
        """The registered component called with the inputs, as azure-ai-ml builds a command job from a component."""
        name, _, version = spec.component.removeprefix("azureml:").rpartition(":")
        component = self.client.components.get(name, version=version)
        node = Command(
            component=component,
            inputs={key: Input(type=kind, path=path) for key, (kind, path) in spec.inputs.items()},
            # Outside a pipeline a node has only the outputs and environment it is given, not its component's.
            outputs={key: Output(type=output.type) for key, output in component.outputs.items()},
            environment=component.environment,
            compute=spec.compute,
        )
        node.name, node.display_name, node.experiment_name, node.tags = spec.name, spec.name, spec.experiment, dict(spec.tags)
        return self._run(self.client.jobs.create_or_update(node))

    @unavailable_as_such
    def cancel(self, name: str) -> None:
        self.client.jobs.begin_cancel(name).result()

    @unavailable_as_such
    def put_batch_endpoint(self, spec: BatchEndpointSpec) -> None:
        entity = self._load(spec.source, load_batch_endpoint) if spec.source else BatchEndpoint(name=spec.name)
        entity.name = spec.name
        entity.tags = {**(entity.tags or {}), **spec.tags}
        if spec.default:
            entity.defaults = {"deployment_name": spec.default}
        self.client.batch_endpoints.begin_create_or_update(entity).result()

    @unavailable_as_such
    def put_batch_deployment(self, spec: BatchDeploymentSpec) -> None:
        loader = _BATCH_LOADERS[spec.kind]
        entity = self._load(spec.source, loader, params_override=[{"endpoint_name": spec.endpoint}])
        entity.name, entity.endpoint_name = spec.name, spec.endpoint
        if spec.compute and spec.kind == "pipeline":  # a pipeline component runs on its settings' default compute
            entity.settings = {**(entity.settings or {}), "default_compute": spec.compute}
        elif spec.compute:
            entity.compute = spec.compute
        entity.tags = {**(entity.tags or {}), **spec.tags}
        self.client.batch_deployments.begin_create_or_update(entity).result()

    @unavailable_as_such
    def delete_batch_deployment(self, endpoint: str, name: str) -> None:
        self.client.batch_deployments.begin_delete(name=name, endpoint_name=endpoint).result()

    # -- autoscale (Azure Monitor, not azure-ai-ml: workspace/autoscale.py) ---------------------------
    @unavailable_as_such
    def autoscale_settings(self) -> list[AutoscaleSpec]:
        return self._autoscale().settings()

    @unavailable_as_such
    def put_autoscale(self, spec: AutoscaleSpec) -> None:
        self._autoscale().put(spec)

    @unavailable_as_such
    def delete_autoscale(self, name: str) -> None:
        self._autoscale().delete(name)

    def _autoscale(self) -> SdkAutoscale:
        if self.autoscale is None:
            raise RuntimeError("this workspace was opened without an Azure Monitor client: autoscale is unavailable")
        return self.autoscale

    # -- helpers ------------------------------------------------------------------------------------
    def _assets(self, kind: AssetKind) -> Any:
        return {
            AssetKind.environment: self.client.environments,
            AssetKind.data: self.client.data,
            AssetKind.component: self.client.components,
        }[kind]

    def _run(self, job: Job, steps: tuple[RunStep, ...] = ()) -> Run:
        created = job.creation_context.created_at if job.creation_context else None
        workspace = (
            f"/subscriptions/{self.client.subscription_id}/resourceGroups/{self.client.resource_group_name}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.client.workspace_name}"
        )
        return Run(
            name=str(job.name),
            display_name=str(job.display_name or job.name),
            experiment=str(job.experiment_name or ""),
            kind=str(job.type),
            status=state(job.status),
            studio_url=f"https://ml.azure.com/runs/{job.name}?wsid={workspace}",
            created=created.isoformat() if isinstance(created, datetime) else str(created or ""),
            steps=steps,
            tags=dict(job.tags or {}),
        )

    def _load(self, source: Path, loader: Any, **kwargs: Any) -> Any:
        """A fresh copy of the file's entity: loaded once per file, since every endpoint write needs it."""
        with self._files_lock:
            if source not in self._files:
                self._files[source] = loader(source, **kwargs)
            return copy.deepcopy(self._files[source])

    def _model(self, key: tuple[str, str]) -> LiveModel | None:
        try:
            model = self.client.models.get(key[0], version=key[1])
        except ResourceNotFoundError:
            return None
        return LiveModel(key[0], key[1], dict(model.tags or {}))

    def _credentials(self, endpoint: str) -> tuple[str, str]:
        """(scoring URI, key or token) for requests to the endpoint."""
        live = self.client.online_endpoints.get(endpoint)
        keys = self.client.online_endpoints.get_keys(endpoint)
        key = getattr(keys, "primary_key", None) or getattr(keys, "access_token", None) or ""
        return str(live.scoring_uri), key


class _Forward(io.TextIOBase):
    """stdout for azure-ai-ml's log streaming, handed on as it is written."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def write(self, text: str) -> int:
        if text:
            self._write(text)
        return len(text)


def job_entity(spec: JobSpec) -> Job:
    """The job file as azure-ai-ml loads it, on the Azure names of its clusters, with `spec`'s inputs and tags."""
    job: Any = load_job(spec.source)
    _place(job, spec.computes)
    for name, value in spec.inputs.items():
        wrapped = hasattr(job.inputs[name], "_data")  # a pipeline's inputs wrap what the file gives
        current = job.inputs[name]._data if wrapped else job.inputs[name]
        given = Input(type=current.type, path=value) if isinstance(current, Input) else value
        if wrapped:
            setattr(job.inputs, name, given)  # the pipeline's own way: it rebuilds the wrapper's data
        else:
            job.inputs[name] = given
    job.tags = {**(job.tags or {}), **spec.tags}
    return job  # type: ignore[no-any-return]


def _place(job: Any, computes: Any) -> None:
    """Point the job and each of its pipeline steps at the Azure names of the clusters the file names."""

    def azure(compute: Any) -> Any:
        name = str(compute).removeprefix("azureml:") if compute else compute
        return computes.get(name, compute) if name else compute

    job.compute = azure(getattr(job, "compute", None))
    if isinstance(job, PipelineJob):
        if job.settings is not None:
            job.settings.default_compute = azure(job.settings.default_compute)
        for node in job.jobs.values():
            node.compute = azure(node.compute)


def state(value: object) -> str:
    """A provisioning state as Azure spells it: the SDK gives a str or an enum, depending on the call."""
    return str(getattr(value, "value", value))


def _endpoint(endpoint: OnlineEndpoint, deployments: list[OnlineDeployment]) -> LiveEndpoint:
    return LiveEndpoint(
        name=str(endpoint.name),
        provisioning_state=state(endpoint.provisioning_state),
        auth_mode=str(endpoint.auth_mode),
        traffic=nonzero(endpoint.traffic or {}),
        mirror_traffic=nonzero(endpoint.mirror_traffic or {}),
        tags=dict(endpoint.tags or {}),
        deployments={str(d.name): _deployment(d) for d in deployments},
        scoring_uri=endpoint.scoring_uri,
        properties={str(k): str(v) for k, v in (endpoint.properties or {}).items()},
    )


def _deployment(d: OnlineDeployment) -> LiveDeployment:
    return LiveDeployment(
        name=str(d.name),
        model=str(d.model) if d.model else None,
        instance_type=str(getattr(d, "instance_type", "") or ""),
        instance_count=int(d.instance_count or 0),
        provisioning_state=state(d.provisioning_state),
        tags=dict(d.tags or {}),
    )
