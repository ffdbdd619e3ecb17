"""The environment manifest: `environments/<name>.yaml`, amlops's own schema.

An environment file is the one place that says, for one environment, where it lives, what
infrastructure it has, and what it serves: which deployment of which endpoint runs which model
version, with what traffic, and how a change is rolled out. Endpoint, deployment and model files
stay in Azure ML's own formats; an environment only picks from them and overrides instance settings.

`amlops schema` writes the JSON Schema of :class:`Environment` for editors.
"""

from __future__ import annotations

import base64
import hashlib
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag, field_validator, model_validator

from amlops.manifests.autoscale import Autoscale

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", min_length=2, max_length=24)]
Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
Percent = Annotated[int, Field(ge=0, le=100)]

#: Deployment names in Azure carry a suffix of this many characters (`-` and a spec hash).
DEPLOYMENT_SUFFIX = 9


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Platform(str, Enum):
    azure = "azure"
    local = "local"


class AzureLocation(Strict):
    """Where an Azure environment lives."""

    subscription_id: Uuid
    tenant_id: Uuid
    location: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+$")] = Field(description="Azure region, e.g. westeurope")
    resource_group: Annotated[str, StringConstraints(pattern=r"^[-\w._()]{1,89}[-\w_()]$")]
    workspace: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$")]


class NetworkMode(str, Enum):
    managed = "managed"  # the workspace's managed virtual network
    vnet = "vnet"  # a virtual network of our own with private endpoints
    public = "public"  # public endpoints: throwaway dev environments only


class Isolation(str, Enum):
    allow_internet_outbound = "allow_internet_outbound"
    allow_only_approved_outbound = "allow_only_approved_outbound"


class OutboundRule(Strict):
    """An outbound rule of the managed network (only with `allow_only_approved_outbound`)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,63}$")]
    type: Literal["fqdn", "service_tag", "private_endpoint"]
    destination: str = Field(description="FQDN, service tag, or the target resource id")
    ports: str | None = None
    protocol: Literal["TCP", "UDP", "ICMP", "*"] | None = None
    subresource: str | None = Field(None, description="private_endpoint: e.g. blob, vault, registry")


class Inbound(Strict):
    """The network people and CI reach a private workspace from: its private endpoints and runners live here."""

    address_space: str = Field(description="the access network's range, e.g. 10.40.0.0/24: endpoints and runners")


class Network(Strict):
    mode: NetworkMode
    isolation: Isolation = Isolation.allow_internet_outbound
    outbound_rules: list[OutboundRule] = []
    address_space: str = Field("10.10.0.0/16", description="vnet mode: the virtual network's range")
    inbound: Inbound | None = Field(
        None, description="managed mode: a virtual network with the workspace's and storage's private endpoints"
    )

    @model_validator(mode="after")
    def _rules_need_approved_outbound(self) -> Network:
        if self.outbound_rules and self.isolation is not Isolation.allow_only_approved_outbound:
            raise ValueError("outbound_rules apply only with isolation: allow_only_approved_outbound")
        if self.mode is NetworkMode.managed and self.inbound is None:
            # Public access is off in managed mode: without an access network nobody reaches the workspace.
            raise ValueError("managed mode needs inbound.address_space: the network people and CI reach the workspace from")
        return self


class Cluster(Strict):
    """An AmlCompute cluster. Its Azure name carries the VM size, so a resize is a new cluster."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,9}$")] = Field(
        description="2-10 characters; amlops appends a short size code within Azure's 16"
    )
    vm_size: str
    min_nodes: Annotated[int, Field(ge=0)] = 0
    max_nodes: Annotated[int, Field(ge=1, le=1000)]
    idle_seconds: Annotated[int, Field(ge=60, le=86400)] = Field(900, description="idle time before a node is released")
    low_priority: bool = Field(False, description="use low-priority (spot) nodes")

    @model_validator(mode="after")
    def _min_below_max(self) -> Cluster:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) is above max_nodes ({self.max_nodes})")
        return self

    @property
    def azure_name(self) -> str:
        """`<name>-<hash of size and priority>`, at most 16 characters: what jobs name in the workspace.

        Azure ignores an in-place change of an AmlCompute's VM size or priority; a new name makes
        Pulumi create the new cluster and delete the old one instead of reporting a silent no-op.
        """
        priority = "low" if self.low_priority else "dedicated"
        raw = hashlib.sha256(f"{self.vm_size.lower()}\x1f{priority}".encode()).digest()
        return f"{self.name}-{base64.b32encode(raw).decode().lower()[:5]}"


class Role(str, Enum):
    """Azure ML's built-in roles (and Reader) that team access may grant."""

    data_scientist = "AzureML Data Scientist"
    compute_operator = "AzureML Compute Operator"
    reader = "Reader"
    contributor = "Contributor"


class Access(Strict):
    """An Entra ID group granted a built-in role in this environment, never at subscription scope."""

    group: Uuid = Field(description="object id of the Entra ID group")
    name: str = Field(description="the group's display name, for people reading the file")
    role: Role
    scope: Literal["workspace", "resource_group"] = "workspace"


class ContinuousIntegration(Strict):
    """The GitHub repository and GitHub environment whose workflows may deploy here (OIDC)."""

    repository: Annotated[str, StringConstraints(pattern=r"^[\w.-]+/[\w.-]+$")]
    github_environment: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class Tags(Strict):
    owner: Annotated[str, StringConstraints(min_length=1)]
    cost_center: Annotated[str, StringConstraints(min_length=1)]


class Infrastructure(Strict):
    network: Network
    production_like: bool = Field(
        False, description="held to production policies, protected from destroy and locked against deletion"
    )
    clusters: list[Cluster] = []
    image_build_cluster: str | None = Field(
        None, description="the cluster that builds environment images: needed when the container registry is private"
    )
    registry: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$")] = Field(
        description="the Azure ML registry shared by all environments, through which releases are promoted"
    )
    tags: Tags
    access: list[Access] = []
    ci: ContinuousIntegration | None = None

    @model_validator(mode="after")
    def _image_builds_on_a_declared_cluster(self) -> Infrastructure:
        names = {c.name for c in self.clusters}
        if self.image_build_cluster is not None and self.image_build_cluster not in names:
            raise ValueError(f"image_build_cluster {self.image_build_cluster!r} is not one of the clusters {sorted(names)}")
        if self.network.mode is not NetworkMode.public and self.image_build_cluster is None:
            # Azure ML cannot build images in a registry without public access on its own build agents.
            raise ValueError("a private network needs image_build_cluster: the container registry is not public")
        return self


class Gate(Strict):
    """What a step must show before traffic moves on, judged over the requests since the step began."""

    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.01
    max_latency_p95_ms: Annotated[float, Field(gt=0)] = 1000
    min_requests: Annotated[int, Field(ge=1)] = 20


class Step(Strict):
    """One step of a rollout: mirror a share of traffic to the new deployment, or give it a weight."""

    mirror: Annotated[int, Field(ge=1, le=50)] | None = None
    weight: Annotated[int, Field(ge=1, le=100)] | None = None
    pause_seconds: Annotated[int, Field(ge=0, le=86400)] = 0

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        if (self.mirror is None) == (self.weight is None):
            raise ValueError("a step sets exactly one of mirror or weight")
        return self


AssetRef = Annotated[str, StringConstraints(pattern=r"^azureml:[A-Za-z0-9][\w.-]*:[\w.-]+$")]


class EvaluationKind(str, Enum):
    """How the candidate and the live model get their figures (rollout/evaluation.py has one evaluator per kind)."""

    component = "component"  # a component run on a held-out data asset, scoring both models
    logged_metrics = "logged_metrics"  # the metrics each model version records (its tags or properties)


class Criterion(Strict):
    """One metric the candidate must hold against the live model; absolute, in the metric's own units."""

    metric: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][\w.-]{0,63}$")]
    higher_is_better: bool = True
    min_delta: float | None = Field(
        None, description="the candidate must beat the live model by at least this (default 0: at least as good)"
    )
    max_regression: Annotated[float, Field(ge=0)] | None = Field(
        None, description="instead of min_delta: the candidate may be worse than the live model by at most this"
    )

    @model_validator(mode="after")
    def _one_bound(self) -> Criterion:
        if self.min_delta is not None and self.max_regression is not None:
            raise ValueError("a criterion sets at most one of min_delta or max_regression")
        return self

    @property
    def required_gain(self) -> float:
        """How much better than the live model the candidate must be (negative: how much worse it may be)."""
        if self.max_regression is not None:
            return -self.max_regression
        return self.min_delta or 0.0


class Evaluation(Strict):
    """An offline comparison of the candidate model with the live one, before the candidate gets any traffic."""

    kind: EvaluationKind
    component: AssetRef | None = Field(
        None, description="kind component: azureml:<name>:<version>, inputs candidate, live and data, output metrics"
    )
    data: AssetRef | None = Field(None, description="kind component: the held-out data asset, azureml:<name>:<version>")
    compute: str = Field("serverless", description="kind component: the cluster it runs on, as the files name it")
    criteria: list[Criterion] = Field(min_length=1)
    without_live_model: Literal["pass", "fail"] = Field(
        "pass", description="the verdict when there is no live model to compare with (a first rollout)"
    )
    timeout_minutes: Annotated[int, Field(ge=1, le=1440)] = 60

    @model_validator(mode="after")
    def _kind_has_what_it_needs(self) -> Evaluation:
        if self.kind is EvaluationKind.component and (self.component is None or self.data is None):
            raise ValueError("kind component needs component and data")
        if self.kind is EvaluationKind.logged_metrics and (self.component is not None or self.data is not None):
            raise ValueError("kind logged_metrics reads what the models record: no component or data")
        return self


class Strategy(Strict):
    """How a changed deployment takes traffic: steps, each gated; the last weight step is 100."""

    steps: list[Step] = Field(default_factory=lambda: [Step(weight=100)])
    gate: Gate = Gate()
    evaluation: Evaluation | None = Field(
        None, description="compare the candidate model with the live one offline before it gets any traffic"
    )
    soak_minutes: Annotated[int, Field(ge=0)] = Field(
        0, description="how long a release must be live here before it may be promoted onward"
    )

    @field_validator("steps")
    @classmethod
    def _ends_at_full_weight(cls, steps: list[Step]) -> list[Step]:
        weights = [s.weight for s in steps if s.weight is not None]
        if not weights or weights[-1] != 100:
            raise ValueError("the last weight step must be 100")
        if weights != sorted(weights):
            raise ValueError("weights must not decrease from step to step")
        return steps


class DeploymentChoice(Strict):
    """Which model a deployment serves in this environment, and its instance overrides."""

    model: str = Field(description="name:version, azureml:name:version, or an azureml:// registry URI")
    instance_type: str | None = None
    instance_count: Annotated[int, Field(ge=1, le=100)] | None = None
    autoscale: Autoscale | None = Field(None, description="Azure Monitor autoscale, applied after the endpoint's rollout")


class EndpointChoice(Strict):
    """An online endpoint served in this environment: its deployments and their traffic."""

    deployments: dict[str, DeploymentChoice] = Field(min_length=1)
    traffic: dict[str, Percent] = Field(default_factory=dict, description="defaults to 100 for a single deployment")
    mirror_traffic: dict[str, Percent] = Field(default_factory=dict)
    strategy: Strategy | None = Field(None, description="overrides the environment's strategy")


class BatchEndpointChoice(Strict):
    """A batch endpoint from `batch-endpoints/<name>/`: the deployments it keeps, and which one answers."""

    deployments: list[str] = Field(min_length=1, description="deployment files of batch-endpoints/<name>/")
    default: str | None = Field(None, description="the deployment invocations go to; defaults to the only one")

    @model_validator(mode="after")
    def _default_is_declared(self) -> BatchEndpointChoice:
        if self.default is None and len(self.deployments) != 1:
            raise ValueError("default is required with more than one deployment")
        if self.default is not None and self.default not in self.deployments:
            raise ValueError(f"default {self.default!r} is not one of the deployments")
        return self

    @property
    def default_deployment(self) -> str:
        return self.default or self.deployments[0]


class ServerlessChoice(Strict):
    """A serverless (model-as-a-service) endpoint from `endpoints/<name>/serverless.yml`, enabled here."""

    serverless: Literal[True]


class OnBreach(Strict):
    """What a breached monitor starts: a job this environment runs (`jobs`), once per breached monitor run."""

    run: str = Field(description="a job of `jobs`, e.g. the retraining pipeline")


class MonitorChoice(Strict):
    """A model monitor of `schedules` (a MonitorSchedule file), and what its breach starts."""

    on_breach: OnBreach | None = None


def _endpoint_kind(value: object) -> str:
    """A serverless entry says `serverless`; any other is an online endpoint. Told apart before validation, a
    mistake in one is reported against it alone, not also against the other kind."""
    serverless = isinstance(value, ServerlessChoice) or (isinstance(value, dict) and "serverless" in value)
    return "ServerlessChoice" if serverless else "EndpointChoice"


EndpointEntry = Annotated[
    Annotated[EndpointChoice, Tag("EndpointChoice")] | Annotated[ServerlessChoice, Tag("ServerlessChoice")],
    Discriminator(_endpoint_kind),
]


class Environment(Strict):
    """`environments/<name>.yaml`."""

    name: Name
    platform: Platform = Field(description="where the workspace runs: azure, or the local control plane")
    azure: AzureLocation | None = None
    infrastructure: Infrastructure | None = None
    strategy: Strategy = Strategy()
    endpoints: dict[str, EndpointEntry] = {}
    batch_endpoints: dict[str, BatchEndpointChoice] = {}
    jobs: list[Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")]] = Field(
        default_factory=list, description="the jobs/<name>.yml this environment runs (`amlops run`)"
    )
    clusters: list[Cluster] = Field(
        default_factory=list,
        description="platform local only: the clusters apply creates on the local control plane (Azure: infrastructure.clusters)",
    )
    schedules: list[Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")]] = Field(
        default_factory=list, description="the schedules/<name>.yml applied here: job schedules and model monitors"
    )
    monitors: dict[str, MonitorChoice] = Field(
        default_factory=dict, description="per model monitor of `schedules`: what a breach starts (`amlops monitor`)"
    )

    @model_validator(mode="after")
    def _azure_needs_location(self) -> Environment:
        if self.platform is Platform.azure and (self.azure is None or self.infrastructure is None):
            raise ValueError("platform: azure needs the azure and infrastructure sections")
        if self.platform is Platform.local and self.azure is not None:
            raise ValueError("platform: local has no azure section: the local control plane decides")
        if self.clusters and self.infrastructure is not None:
            raise ValueError("clusters is for local environments without infrastructure: use infrastructure.clusters")
        return self

    @property
    def autoscales(self) -> bool:
        """Whether a deployment here declares autoscale (its deploy identity then writes autoscale settings)."""
        return any(
            d.autoscale is not None
            for c in self.endpoints.values()
            if isinstance(c, EndpointChoice)
            for d in c.deployments.values()
        )

    @property
    def all_clusters(self) -> list[Cluster]:
        """The clusters jobs may name: the infrastructure's (Pulumi creates them) or, on local, `clusters`."""
        return list(self.infrastructure.clusters) if self.infrastructure else list(self.clusters)

    def traffic(self, endpoint: str) -> dict[str, int]:
        """The declared traffic split, with a single deployment defaulting to 100."""
        choice = self.endpoints[endpoint]
        assert isinstance(choice, EndpointChoice)
        if choice.traffic or len(choice.deployments) != 1:
            return dict(choice.traffic)
        return {next(iter(choice.deployments)): 100}

    def strategy_for(self, endpoint: str) -> Strategy:
        choice = self.endpoints[endpoint]
        return (choice.strategy if isinstance(choice, EndpointChoice) else None) or self.strategy
