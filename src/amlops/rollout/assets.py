"""Azure ML entities made from the manifests, each carrying its lineage tags."""

from __future__ import annotations

from azure.ai.ml import MLClient, load_online_deployment
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, Model

from amlops.manifests.repository import Repository
from amlops.release.bundle import DeploymentRelease, ModelPin, Release
from amlops.rollout import record
from amlops.rollout.lineage import Lineage


def register_model(client: MLClient, repo: Repository, pin: ModelPin, lineage: Lineage) -> None:
    """Register one model version from its local artifact; the content hash tells a re-run apart."""
    file = repo.models[(pin.name, pin.version)]
    assert pin.path is not None and pin.content_hash is not None
    tags = {**(file.model.tags or {}), **lineage.tags(file.document.path), record.CONTENT_HASH: pin.content_hash}
    model = Model(
        name=pin.name,
        version=pin.version,
        type=file.model.type,
        path=str(repo.root / pin.path),
        description=file.model.description,
        tags=tags,
    )
    client.models.create_or_update(model)


def deployment(repo: Repository, release: Release, d: DeploymentRelease, lineage: Lineage) -> ManagedOnlineDeployment:
    """The deployment file's spec under its Azure name, with this environment's model and instances."""
    spec = load_online_deployment(repo.root / d.source, params_override=[{"endpoint_name": d.endpoint}])
    spec.name = d.azure_name
    spec.endpoint_name = d.endpoint
    spec.model = d.model.reference if d.model.registry else f"azureml:{d.model.reference}"
    spec.instance_type = d.instance_type
    spec.instance_count = d.instance_count
    spec.tags = {
        **(spec.tags or {}),
        **lineage.tags(d.source),
        record.DEPLOYMENT: d.name,
        record.IDENTITY: release.canonical()["endpoints"][d.endpoint]["deployments"][d.name],
    }
    return spec


def endpoint(
    repo: Repository, name: str, tags: dict[str, str], traffic: dict[str, int], mirror: dict[str, int]
) -> ManagedOnlineEndpoint:
    """The endpoint file's endpoint with amlops's tags and the given traffic: what every write PUTs."""
    spec = repo.endpoints[name].endpoint
    assert spec is not None
    return ManagedOnlineEndpoint(
        name=name,
        auth_mode=spec.auth_mode,
        description=spec.description,
        tags={**(spec.tags or {}), **tags},
        traffic=dict(traffic),
        mirror_traffic=dict(mirror),
    )
