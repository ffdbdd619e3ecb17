"""The plan, pure: a release (desired state) compared with a workspace's live state.

`plan(release, live)` lists what `apply` would do: models to register, endpoints to create, change
or retire, deployments to add, scale or retire, traffic changes, serverless endpoints. An empty plan
means `apply` makes no write at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from amlops.release.bundle import EndpointRelease, ModelPin, Release
from amlops.release.training import AssetPin
from amlops.rollout.evaluation import Comparison, compare
from amlops.state import record
from amlops.state.evaluation import Evaluated
from amlops.state.live import TERMINAL, LiveEndpoint, LiveState, nonzero
from amlops.state.record import RolloutRecord, Status, version_conflict

if TYPE_CHECKING:
    from amlops.rollout.autoscale import AutoscaleChange


class Change(Enum):
    add = "add"  # a new deployment beside the live ones (blue/green)
    recreate = "recreate"  # a deployment of the release whose provisioning failed
    scale = "scale"  # same spec, another instance count: changed in place
    retire = "retire"  # not in the release: deleted once it takes no traffic
    create = "create"
    replace = "replace"
    delete = "delete"


@dataclass(frozen=True)
class DeploymentChange:
    change: Change
    name: str  # the Azure name
    detail: str = ""


@dataclass(frozen=True)
class EndpointPlan:
    """One endpoint: what it has, what the release wants, and the changes between."""

    name: str
    desired: EndpointRelease
    endpoint_release: str  # the id of the endpoint release the manifests declare
    live_endpoint_release: str | None  # the one it serves now
    create: bool
    deployments: tuple[DeploymentChange, ...]
    traffic: tuple[dict[str, int], dict[str, int]]  # (live, desired), by Azure name
    mirror: tuple[dict[str, int], dict[str, int]]
    resume: RolloutRecord | None = None  # an unfinished rollout to this release, to continue
    notes: tuple[str, ...] = ()
    evaluation: Comparison | None = None  # the offline evaluation to run before the candidate gets traffic
    preview: Evaluated | None = None  # its verdict from the figures recorded so far, if any

    @property
    def new(self) -> tuple[str, ...]:
        """Deployments to create (or recreate) before traffic may move."""
        return tuple(c.name for c in self.deployments if c.change in (Change.add, Change.recreate))

    @property
    def retired(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.deployments if c.change is Change.retire)

    @property
    def rollout(self) -> bool:
        """Whether traffic moves onto a deployment that has none yet: that takes gated steps."""
        live, desired = self.traffic
        return any(share and not live.get(name) for name, share in desired.items()) or self.resume is not None

    @property
    def changed(self) -> bool:
        return (
            self.create
            or bool(self.deployments)
            or self.traffic[0] != self.traffic[1]
            or self.mirror[0] != self.mirror[1]
            or self.live_endpoint_release != self.endpoint_release
        )


@dataclass(frozen=True)
class ServerlessChange:
    change: Change
    name: str
    model_id: str


@dataclass(frozen=True)
class BatchPlan:
    """One batch endpoint: deployments to add for changed specs, then the default switched, then the old retired."""

    name: str
    create: bool
    add: tuple[str, ...]  # Azure names
    default: tuple[str | None, str]  # (live, desired), by Azure name
    retire: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.create or bool(self.add or self.retire) or self.default[0] != self.default[1]


@dataclass(frozen=True)
class ScheduleChange:
    """A schedule (job schedule or model monitor) to create, update in place, or delete."""

    change: Change  # create, replace (an update in place) or delete
    name: str
    monitor: bool
    fields: tuple[str, ...] = ()  # for an update: the file's fields that changed


@dataclass(frozen=True)
class Plan:
    environment: str
    release_id: str
    alias: str
    models: tuple[ModelPin, ...] = ()  # model versions to register
    endpoints: tuple[EndpointPlan, ...] = ()  # every endpoint of the release, changed or not
    retire_endpoints: tuple[str, ...] = ()  # managed here, no longer in the manifests
    serverless: tuple[ServerlessChange, ...] = ()
    conflicts: tuple[str, ...] = ()  # refusals: apply stops before any write
    assets: tuple[AssetPin, ...] = ()  # Azure ML environment, data and component versions to register
    clusters: tuple[str, ...] = ()  # on local: clusters to create (Azure names); in Azure, Pulumi's
    batch: tuple[BatchPlan, ...] = ()  # changed batch endpoints
    schedules: tuple[ScheduleChange, ...] = ()  # job schedules and model monitors to write
    autoscale: tuple[AutoscaleChange, ...] = ()  # Azure Monitor autoscale settings, written after the rollouts
    #: The workspace as this plan read it: what an apply with nothing to do reports from, rather than reading it again.
    observed: LiveState = field(default_factory=LiveState, compare=False, repr=False)

    @property
    def changed_endpoints(self) -> tuple[EndpointPlan, ...]:
        return tuple(e for e in self.endpoints if e.changed)

    @property
    def changed(self) -> bool:
        training = self.assets or self.clusters or self.batch or self.schedules
        return bool(
            self.models or self.changed_endpoints or self.retire_endpoints or self.serverless or training or self.autoscale
        )


def models_to_check(release: Release) -> list[ModelPin]:
    """The workspace models a release registers: versions from this repository, not registries."""
    pins = {(d.model.name, d.model.version): d.model for e in release.endpoints.values() for d in e.deployments.values()}
    return [pin for _, pin in sorted(pins.items()) if pin.registry is None and pin.content_hash is not None]


def unregistered_reference(pin: ModelPin, environment: str) -> str:
    return (
        f"model {pin.name}:{pin.version} references a registered asset (a run's output) that {environment}'s "
        "workspace does not have: it is registered where its run ran; serve it elsewhere through the registry"
    )


def plan(release: Release, live: LiveState) -> Plan:
    """What `apply` would do to make `live` serve `release`."""
    register: list[ModelPin] = []
    conflicts: list[str] = []
    for pin in models_to_check(release):
        existing = live.models.get((pin.name, pin.version))
        if existing is None and pin.path is None:  # a model file that references an asset: nothing to upload
            conflicts.append(unregistered_reference(pin, release.environment))
            continue
        if existing is None:
            register.append(pin)
            continue
        conflict = version_conflict(f"model {pin.name}:{pin.version}", existing.tags, pin.path or "", pin.content_hash or "")
        if conflict:
            conflicts.append(conflict)
    endpoints = tuple(plan_endpoint(release, name, live.endpoints.get(name)) for name in sorted(release.endpoints))
    conflicts += [c for name in sorted(release.endpoints) for c in _altered_properties(release, name, live.endpoints.get(name))]
    retire = tuple(
        sorted(
            name
            for name, e in live.endpoints.items()
            if e.tags.get(record.ENVIRONMENT) == release.environment and name not in release.endpoints
        )
    )
    serverless: list[ServerlessChange] = []
    for name, wanted in sorted(release.serverless.items()):
        found = live.serverless.get(name)
        if found is None:
            serverless.append(ServerlessChange(Change.create, name, wanted.model_id))
        elif found.model_id.lower() != wanted.model_id.lower():
            serverless.append(ServerlessChange(Change.replace, name, wanted.model_id))
    for name, found in sorted(live.serverless.items()):
        if name not in release.serverless and found.tags.get(record.ENVIRONMENT) == release.environment:
            serverless.append(ServerlessChange(Change.delete, name, found.model_id))
    return Plan(
        release.environment,
        release.id,
        release.alias,
        tuple(register),
        endpoints,
        retire,
        tuple(serverless),
        tuple(conflicts),
        observed=live,
    )


def plan_endpoint(release: Release, name: str, live: LiveEndpoint | None) -> EndpointPlan:
    """One endpoint's plan; a rollout re-plans its endpoint from a fresh read once it holds the lock."""
    desired = release.endpoints[name]
    release_id = release.endpoint(desired.name).id
    wanted = {d.azure_name: d for d in desired.deployments.values()}
    mirror = {desired.deployments[d].azure_name: share for d, share in desired.mirror_traffic.items() if share}
    traffic = nonzero(desired.azure_traffic())
    if live is None:
        added = tuple(DeploymentChange(Change.add, azure, f"model {d.model.reference}") for azure, d in sorted(wanted.items()))
        evaluation = compare(name, desired.strategy.evaluation, wanted, traffic, {}, {})
        return EndpointPlan(
            desired.name, desired, release_id, None, True, added, ({}, traffic), ({}, mirror), evaluation=evaluation
        )
    changes: list[DeploymentChange] = []
    for azure, d in sorted(wanted.items()):
        existing = live.deployments.get(azure)
        if existing is None:
            changes.append(DeploymentChange(Change.add, azure, f"model {d.model.reference}"))
        elif existing.provisioning_state in TERMINAL and not existing.succeeded:
            changes.append(DeploymentChange(Change.recreate, azure, f"provisioning {existing.provisioning_state}"))
        elif not existing.succeeded:
            changes.append(
                DeploymentChange(Change.add, azure, f"provisioning ({existing.provisioning_state}): apply waits for it")
            )
        elif not d.holds(existing.instance_count):
            changes.append(DeploymentChange(Change.scale, azure, f"instances {existing.instance_count} -> {d.instance_count}"))
    for azure in sorted(set(live.deployments) - set(wanted)):
        changes.append(DeploymentChange(Change.retire, azure, f"{live.traffic.get(azure, 0)} % traffic now"))
    current = RolloutRecord.decode(live.tags.get(record.ROLLOUT))
    resume = current if current and current.status is Status.running and current.to == release_id else None
    notes = _setting_changes(desired, live)
    if current and current.status is Status.rolled_back and live.tags.get(record.ENDPOINT_RELEASE) != release_id:
        notes.append(f"rolled back to {live.tags.get(record.ENDPOINT_RELEASE)}; apply rolls {release_id} out again")
    return EndpointPlan(
        desired.name,
        desired,
        release_id,
        live.tags.get(record.ENDPOINT_RELEASE),
        False,
        tuple(changes),
        (nonzero(live.traffic), traffic),
        (nonzero(live.mirror_traffic), mirror),
        resume,
        tuple(notes),
        None if resume else compare(name, desired.strategy.evaluation, wanted, traffic, nonzero(live.traffic), live.deployments),
    )


def _setting_changes(desired: EndpointRelease, live: LiveEndpoint) -> list[str]:
    """The endpoint's own settings that change: written in place with the rollout's writes of the endpoint.

    Azure ML updates auth mode, description, tags, public network access and identity of an existing
    online endpoint in place (REST API Online Endpoints - Create Or Update / Update: the same PUT body)."""
    notes = []
    if live.auth_mode.lower() != desired.auth_mode.lower():
        notes.append(f"auth_mode {live.auth_mode} -> {desired.auth_mode}: updated in place")
    recorded = live.tags.get(record.ENDPOINT_SETTINGS)
    if recorded != desired.settings_hash:
        keys = ", ".join(sorted(desired.settings)) or "none left"
        notes.append(f"endpoint settings in endpoint.yml changed ({keys}): updated in place")
    return notes


def _altered_properties(release: Release, name: str, live: LiveEndpoint | None) -> list[str]:
    """Endpoint properties can be added, never altered or removed (REST API OnlineEndpointProperties.properties:
    "Properties can be added, but not removed or altered"): a changed value is refused before any write."""
    wanted = release.endpoints[name].settings.get("properties") or {}
    if live is None or not isinstance(wanted, dict):
        return []
    return [
        f"endpoint {name}: properties.{key} is {live.properties[key]!r} in Azure but {value!r} in endpoint.yml; "
        "Azure ML never alters an endpoint property once set: add a new key, or create a new endpoint"
        for key, value in sorted(wanted.items())
        if key in live.properties and live.properties[key] != str(value)
    ]
