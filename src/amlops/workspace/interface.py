"""The workspace interface: every read and write amlops makes of an Azure ML workspace, as plain data.

Capabilities (rollout, promotion, status) speak only this; two implementations keep the same
semantics: `SdkWorkspace` (azure-ai-ml against Azure or the local control plane) and
`MemoryWorkspace` (an in-memory twin for fast tests of the logic above the edge).

Writes take specs that name the user's file and amlops's overrides, never SDK entities: the SDK
implementation loads the file with azure-ai-ml's own loader, so every property the file sets reaches
Azure, and applies only the overrides listed here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from amlops.manifests.repository import AssetKind
from amlops.state.live import LiveEndpoint, LiveState
from amlops.state.record import Measurement


class Unavailable(Exception):
    """Azure did not answer, beyond the SDK's own retries: throttled (429), unavailable (5xx), or the
    connection lost. Nothing is known to have changed; the same request may be made again later."""


@dataclass(frozen=True)
class EndpointSpec:
    """An online endpoint as the file declares it, with amlops's tags and traffic."""

    name: str
    source: Path | None  # endpoints/<name>/endpoint.yml; None for an endpoint whose file is gone (retiring)
    tags: dict[str, str]
    traffic: dict[str, int]
    mirror: dict[str, int]


@dataclass(frozen=True)
class DeploymentSpec:
    """A deployment file under its Azure name, with this environment's model pin and instances."""

    endpoint: str
    name: str  # the Azure name, `<name>-<spec hash>`
    source: Path  # endpoints/<endpoint>/<deployment>.yml
    model: str  # `azureml:<name>:<version>` or `azureml://registries/...`
    instance_type: str
    instance_count: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    """A model version from its CLI v2 file, registered from its local artifact."""

    name: str
    version: str
    source: Path  # models/<model>/v<version>.yml
    artifact: Path  # the folder or file it uploads: inside the repository (validated)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerlessSpec:
    name: str
    model_id: str
    source: Path | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AssetSpec:
    """An Azure ML environment, data asset or component version, registered from its CLI v2 file."""

    kind: AssetKind
    name: str
    version: str
    source: Path  # assets/environments/<name>.yml, assets/data/<name>.yml, components/<name>/component.yml
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterSpec:
    """An AmlCompute cluster under its Azure name (Pulumi creates them in Azure; apply, on local)."""

    name: str
    vm_size: str
    min_nodes: int
    max_nodes: int
    idle_seconds: int
    low_priority: bool
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobSpec:
    """A job file to submit, with the cluster names it uses mapped to Azure's and inputs overridden."""

    source: Path  # jobs/<job>.yml
    computes: Mapping[str, str]  # cluster name in the files -> its Azure name
    inputs: Mapping[str, str] = field(default_factory=dict)  # `--set inputs.NAME=VALUE`
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ComponentJobSpec:
    """A registered component run as one command job, under a name amlops chooses so that a later apply finds it."""

    name: str  # the job's name: unique in the workspace
    component: str  # `azureml:<name>:<version>`
    inputs: Mapping[str, tuple[str, str]]  # input -> (Azure ML input type, path or `azureml:` reference)
    compute: str  # the cluster's Azure name, or `serverless`
    experiment: str
    tags: dict[str, str] = field(default_factory=dict)


#: Concurrent reads of a workspace: enough to hide ARM's latency for hundreds of endpoints, few enough for its throttling.
READERS = 16
#: Seconds between reads of something changing on the local control plane, whose reads cost no quota.
LOCAL_POLL_SECONDS = 0.5
#: Azure ML job statuses after which a job will not change (JobStatus in the REST spec).
JOB_TERMINAL = ("Completed", "Failed", "Canceled")


@dataclass(frozen=True)
class RunStep:
    """One pipeline step of a run: the pipeline's node and the child job that runs it."""

    node: str
    run: str
    status: str


@dataclass(frozen=True)
class Run:
    """One submission of a job, as the workspace reports it."""

    name: str
    display_name: str
    experiment: str
    kind: str  # Azure ML's job type: command, pipeline, finetuning, ...
    status: str
    studio_url: str
    created: str = ""  # ISO 8601
    steps: tuple[RunStep, ...] = ()
    error: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in JOB_TERMINAL


@dataclass(frozen=True)
class RunModelSpec:
    """A model version registered from a finished run's named output where the run left it, without any
    upload: Azure's job path `azureml://jobs/<run>/outputs/<output>/paths/` (learn.microsoft.com/azure/
    machine-learning/how-to-manage-models, "Supported paths")."""

    name: str
    version: str
    run: str
    output: str
    kind: str  # the output's type: custom_model, mlflow_model or triton_model
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"azureml://jobs/{self.run}/outputs/{self.output}/paths/"


@dataclass(frozen=True)
class BatchEndpointSpec:
    name: str
    source: Path | None  # batch-endpoints/<name>/endpoint.yml
    default: str | None  # the Azure name of the deployment invocations go to
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchDeploymentSpec:
    """A batch deployment file under its Azure name, on its cluster's Azure name."""

    endpoint: str
    name: str  # `<name>-<spec hash>`
    kind: str  # `model` or `pipeline`: which azure-ai-ml loader reads the file
    source: Path
    compute: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveBatchEndpoint:
    name: str
    default: str | None
    tags: dict[str, str]
    deployments: dict[str, dict[str, str]]  # Azure name -> tags


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule file (job schedule or model monitor), on the workspace's names, with amlops's tags."""

    name: str
    source: Path  # schedules/<name>.yml
    computes: Mapping[str, str] = field(default_factory=dict)  # a scheduled job's cluster names -> Azure names
    overrides: Mapping[str, str] = field(default_factory=dict)  # dotted field -> value (a monitor's live deployment)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveSchedule:
    name: str
    monitor: bool  # a MonitorSchedule; otherwise a JobSchedule
    enabled: bool
    tags: dict[str, str]


@dataclass(frozen=True)
class SignalResult:
    """One metric of one signal (for one feature) of a monitor run, judged against its threshold."""

    signal: str
    metric: str  # Azure's name, e.g. normalized_wasserstein_distance
    feature: str  # "" for a signal-wide metric
    value: float
    threshold: float
    breached: bool


@dataclass(frozen=True)
class MonitorRun:
    """A run of a model monitor (a pipeline job Azure starts on the monitor's schedule) and its results."""

    monitor: str
    run: str
    status: str
    created: str  # ISO 8601
    results: tuple[SignalResult, ...] = ()

    @property
    def breached(self) -> bool:
        return any(r.breached for r in self.results)


@dataclass(frozen=True)
class ScaleRuleSpec:
    """One autoscale rule: Azure Monitor's metricTrigger and scaleAction (ChangeCount)."""

    metric: str  # Azure's metric name, e.g. CpuUtilizationPercentage
    scope: str  # whose metric: "deployment" or "endpoint"
    operator: str
    threshold: float
    statistic: str
    time_aggregation: str
    time_grain_minutes: int
    window_minutes: int
    direction: str  # Increase or Decrease
    change: int
    cooldown_minutes: int


@dataclass(frozen=True)
class ScaleProfileSpec:
    """An autoscale profile: its capacity and rules, and for a schedule the weekly time it begins."""

    name: str
    minimum: int
    maximum: int
    default: int
    rules: tuple[ScaleRuleSpec, ...] = ()
    days: tuple[str, ...] = ()  # empty: no recurrence (the default profile)
    time_zone: str = ""
    hour: int = 0
    minute: int = 0


@dataclass(frozen=True)
class AutoscaleSpec:
    """An Azure Monitor autoscale setting whose target is one online deployment of this workspace."""

    name: str
    endpoint: str
    deployment: str  # the Azure name of the deployment it scales
    profiles: tuple[ScaleProfileSpec, ...]
    tags: dict[str, str] = field(default_factory=dict)
    enabled: bool = True

    def same_setting(self, other: AutoscaleSpec) -> bool:
        """Whether `other` scales the same deployment the same way (tags aside: lineage changes every release)."""
        return (self.name, self.endpoint, self.deployment, self.profiles, self.enabled) == (
            other.name,
            other.endpoint,
            other.deployment,
            other.profiles,
            other.enabled,
        )


@dataclass(frozen=True)
class Answer:
    """A scoring request's outcome: its HTTP status and body, or why it never got one (status 0)."""

    status: int
    text: str

    @property
    def ok(self) -> bool:
        return 0 < self.status < 400


class Load(Protocol):
    """Synthetic load under way: the sample request, sent through the endpoint's traffic split."""

    sent: int
    failed: int


class Registry(Protocol):
    """The Azure ML registry releases are promoted through, as promotion needs it."""

    name: str

    def model_tags(self, name: str, version: str) -> dict[str, str] | None:
        """The tags of a model version in the registry, or None if it is not there."""
        ...

    def share(self, name: str, version: str) -> None:
        """Copy a model version from the workspace into the registry: the same bytes, no upload from here."""
        ...


class Workspace(Protocol):
    """One environment's workspace."""

    environment: str
    local: bool  # the local control plane: no production traffic, so apply supplies synthetic load

    # -- reads --------------------------------------------------------------------------------------
    def observe(self, endpoints: Collection[str] = (), models: Collection[tuple[str, str]] = ()) -> LiveState:
        """The named endpoints and model versions, every endpoint amlops manages for this environment, and
        every serverless endpoint."""
        ...

    def endpoint(self, name: str) -> LiveEndpoint | None:
        """One endpoint with its deployments, fresh: what a rollout re-reads before every decision."""
        ...

    def logs(self, endpoint: str, deployment: str, lines: int = 20) -> str: ...

    def measure(self, endpoint: str, deployments: Sequence[str], since: float) -> Measurement:
        """Requests `deployments` of `endpoint` served since `since` (epoch seconds), with errors and p95."""
        ...

    def invoke(self, endpoint: str, body: bytes, deployment: str | None = None) -> Answer:
        """One scoring request, to `deployment` alone (the `azureml-model-deployment` header) or by traffic."""
        ...

    def load(self, endpoint: str, body: bytes) -> AbstractContextManager[Load]: ...

    def model_tags(self, name: str, version: str) -> dict[str, str] | None:
        """The tags of a model version in the workspace, or None if it is not registered."""
        ...

    def registry(self, name: str) -> Registry: ...

    def asset_tags(self, kind: AssetKind, name: str, version: str) -> dict[str, str] | None:
        """The tags of an Azure ML environment, data asset or component version, or None if it is not registered."""
        ...

    def clusters(self) -> set[str]:
        """The Azure names of the workspace's compute clusters."""
        ...

    def run(self, name: str) -> Run | None:
        """A run with its pipeline steps, fresh."""
        ...

    def runs(self, limit: int = 20) -> list[Run]:
        """The newest top-level runs, newest first (steps not read)."""
        ...

    def stream(self, name: str, write: Callable[[str], None]) -> None:
        """Hand the run's log text to `write` as it comes, until the run ends (whatever its result)."""
        ...

    def step_log(self, run: str) -> str:
        """A finished pipeline step's own log."""
        ...

    def batch_endpoint(self, name: str) -> LiveBatchEndpoint | None: ...

    def run_inputs(self, name: str) -> dict[str, str]:
        """A run's inputs as submitted: asset references (`azureml:<name>:<version>`) or literal values."""
        ...

    def download_output(self, run: str, output: str, into: Path) -> Path:
        """A finished run's named output, downloaded under `into`; returns the folder (or file) it is."""
        ...

    def model_versions(self, name: str) -> dict[str, dict[str, str]]:
        """Every version of a workspace model, with its tags ({} when there is no such model)."""
        ...

    def model_properties(self, name: str, version: str) -> dict[str, str] | None:
        """A model version's properties and tags together (tags win), or None if it is not registered: what a
        training run recorded about it, e.g. its metrics."""
        ...

    def output_file(self, run: str, output: str, path: str) -> bytes | None:
        """One file of a finished run's named output (e.g. `metrics.json`), or None if it has none."""
        ...

    def schedules(self) -> dict[str, LiveSchedule]:
        """Every schedule of the workspace, enabled or not."""
        ...

    def monitor_runs(self, monitor: str, limit: int = 5) -> list[MonitorRun]:
        """A model monitor's newest runs with their signals' results, newest first."""
        ...

    def autoscale_settings(self) -> list[AutoscaleSpec]:
        """The autoscale settings of the workspace's resource group that target this workspace's online deployments."""
        ...

    # -- writes -------------------------------------------------------------------------------------
    def put_endpoint(self, spec: EndpointSpec) -> None:
        """Create or update the endpoint: its file's properties, tags, traffic and mirror in one write."""
        ...

    def begin_deployment(self, spec: DeploymentSpec) -> None:
        """Start creating (or updating) a deployment; its provisioning state tells when it is done."""
        ...

    def delete_deployment(self, endpoint: str, name: str) -> None: ...

    def delete_endpoint(self, name: str) -> None: ...

    def register_model(self, spec: ModelSpec) -> None: ...

    def register_run_model(self, spec: RunModelSpec) -> None:
        """Register a model version from a run's output; Azure keeps a version's content as first registered."""
        ...

    def put_serverless(self, spec: ServerlessSpec) -> None: ...

    def delete_serverless(self, name: str) -> None: ...

    def register_asset(self, spec: AssetSpec) -> None:
        """Register a version; Azure keeps a version's content as first registered."""
        ...

    def put_cluster(self, spec: ClusterSpec) -> None: ...

    def submit(self, spec: JobSpec) -> Run: ...

    def submit_component(self, spec: ComponentJobSpec) -> Run:
        """Run a registered component as a command job named `spec.name` (refused if that name exists)."""
        ...

    def cancel(self, name: str) -> None:
        """Ask a run to stop; it passes through CancelRequested to Canceled. A finished run stays as it is."""
        ...

    def put_batch_endpoint(self, spec: BatchEndpointSpec) -> None:
        """Create or update the batch endpoint: its file's properties, tags and default deployment."""
        ...

    def put_batch_deployment(self, spec: BatchDeploymentSpec) -> None:
        """Create a batch deployment and wait until it is provisioned."""
        ...

    def delete_batch_deployment(self, endpoint: str, name: str) -> None: ...

    def put_schedule(self, spec: ScheduleSpec) -> None:
        """Create or update a schedule from its file: enabled as the file says (Azure's default: enabled)."""
        ...

    def delete_schedule(self, name: str) -> None:
        """Disable, then delete: Azure deletes only a disabled schedule."""
        ...

    def put_autoscale(self, spec: AutoscaleSpec) -> None:
        """Create or replace an autoscale setting (Azure Monitor: one per target deployment)."""
        ...

    def delete_autoscale(self, name: str) -> None: ...


def poll_seconds(workspace: Workspace, azure: float) -> float:
    """How long to wait between reads of a rollout, run or comparison: `azure`'s pace, or the local control plane's."""
    return min(azure, LOCAL_POLL_SECONDS) if workspace.local else azure
