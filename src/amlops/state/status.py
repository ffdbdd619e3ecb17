"""What an environment serves, read back from the workspace: for `amlops status` and for promotion.

Nothing here trusts the runner's disk: the release, the last rollout's steps and measurements all
come from the tags amlops wrote into the workspace (see `record`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from amlops.release.bundle import release_id
from amlops.state import record
from amlops.state.evaluation import Evaluated
from amlops.state.live import LiveEndpoint, LiveState
from amlops.state.record import Lock, Previous, RolloutRecord, Status, StepMeasurement


@dataclass(frozen=True)
class DeploymentStatus:
    name: str
    deployment: str | None  # its name in the manifests
    model: str | None
    provisioning_state: str
    instances: str
    traffic: int
    mirror: int


@dataclass(frozen=True)
class EndpointStatus:
    name: str
    endpoint_release: str | None  # the id of the endpoint release it serves, set when a rollout ends
    environment_release: str | None  # the environment's release that last rolled it out
    since: datetime | None
    commit: str | None
    previous: Previous | None
    deployments: tuple[DeploymentStatus, ...]
    rollout: RolloutRecord | None
    measured: tuple[StepMeasurement, ...]
    reason: str | None
    lock: Lock | None
    scoring_uri: str | None
    provisioning_state: str
    evaluated: Evaluated | None = None  # the last rollout's offline evaluation, with both models' figures

    @property
    def healthy(self) -> bool:
        """Provisioned, no rollout under way, and all traffic on deployments that succeeded."""
        serving = [d for d in self.deployments if d.traffic or d.mirror]
        return (
            self.provisioning_state == "Succeeded"
            and (self.rollout is None or self.rollout.status is not Status.running)
            and bool(serving)
            and all(d.provisioning_state == "Succeeded" for d in serving)
            and sum(d.traffic for d in serving) == 100
        )


def endpoint_status(live: LiveEndpoint) -> EndpointStatus:
    tags = live.tags
    since = tags.get(record.SINCE)
    deployments = tuple(
        DeploymentStatus(
            d.name,
            d.tags.get(record.DEPLOYMENT),
            _model(d.model),
            d.provisioning_state,
            f"{d.instance_count} x {d.instance_type}",
            live.traffic.get(d.name, 0),
            live.mirror_traffic.get(d.name, 0),
        )
        for d in sorted(live.deployments.values(), key=lambda d: d.name)
    )
    return EndpointStatus(
        live.name,
        tags.get(record.ENDPOINT_RELEASE),
        tags.get(record.RELEASE),
        datetime.fromtimestamp(int(since), UTC) if since and since.isdigit() else None,
        tags.get(record.COMMIT),
        Previous.decode(tags.get(record.PREVIOUS)),
        deployments,
        RolloutRecord.decode(tags.get(record.ROLLOUT)),
        tuple(record.decode_measured(tags.get(record.MEASURED))),
        tags.get(record.REASON),
        Lock.decode(tags.get(record.LOCK)),
        live.scoring_uri,
        live.provisioning_state,
        Evaluated.decode(tags.get(record.EVALUATION)),
    )


@dataclass(frozen=True)
class LiveRelease:
    """The release an environment serves, rebuilt from what its deployments say they serve."""

    release_id: str | None  # None when an endpoint is mid-rollout or was changed outside amlops
    healthy: bool
    since: datetime | None  # when the last endpoint took its present release
    endpoints: tuple[EndpointStatus, ...]


def live_release(environment: str, live: LiveState) -> LiveRelease:
    """Rebuild the release id from the workspace: per endpoint, the identity of each deployment
    serving traffic (tagged when amlops created it), as `Release.canonical` hashes it."""
    managed = {n: e for n, e in live.endpoints.items() if e.tags.get(record.ENVIRONMENT) == environment}
    statuses = tuple(endpoint_status(e) for _, e in sorted(managed.items()))
    endpoints: dict[str, object] = {}
    complete = True
    for name, e in sorted(managed.items()):
        identities = {}
        for d in e.deployments.values():
            logical, identity = d.tags.get(record.DEPLOYMENT), d.tags.get(record.IDENTITY)
            if logical is None or identity is None or logical in identities:
                complete = False  # not made by amlops, or two of one deployment: a rollout under way
                continue
            identities[logical] = identity
        settings = e.tags.get(record.ENDPOINT_SETTINGS)
        endpoints[name] = {
            "auth_mode": e.auth_mode,
            "deployments": dict(sorted(identities.items())),
            **({"settings": settings} if settings else {}),
        }
    serverless = {n: s.model_id for n, s in sorted(live.serverless.items()) if s.tags.get(record.ENVIRONMENT) == environment}
    healthy = complete and bool(statuses) and all(s.healthy for s in statuses)
    since = max((s.since for s in statuses if s.since), default=None)
    rebuilt = release_id({"endpoints": endpoints, "serverless": serverless}) if complete and statuses else None
    return LiveRelease(rebuilt, healthy, since, statuses)


def _model(asset_id: str | None) -> str | None:
    """`name:version` from an asset id (`.../models/<name>/versions/<v>` or `azureml:<name>:<v>`)."""
    if not asset_id:
        return None
    parts = asset_id.rstrip("/").split("/")
    if "models" in parts and "versions" in parts:
        return f"{parts[parts.index('models') + 1]}:{parts[parts.index('versions') + 1]}"
    return asset_id.removeprefix("azureml:")
