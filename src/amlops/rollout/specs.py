"""What a rollout asks of the workspace, made from the repository and the release: specs with lineage.

Each spec names the user's file and amlops's documented overrides only (the deployment's Azure name,
the model pin, this environment's instances, lineage tags, traffic); the workspace loads the file
itself, so every other property reaches Azure as the file says.
"""

from __future__ import annotations

from amlops.manifests.repository import Repository
from amlops.release.bundle import ModelPin, Release
from amlops.rollout.decide import Target
from amlops.rollout.loop import Rollout
from amlops.state import record
from amlops.state.live import nonzero
from amlops.state.record import Lineage, Status
from amlops.workspace.interface import DeploymentSpec, ModelSpec, ServerlessSpec


def rollout_of(
    repo: Repository,
    release: Release,
    name: str,
    lineage: Lineage,
    status: Status = Status.rolled_out,
    reason: str = "",
    gates: bool = True,
) -> Rollout:
    """Endpoint `name`'s part of `release`, as the loop moves it."""
    desired = release.endpoints[name]
    identities = release.canonical()["endpoints"][name]["deployments"]
    deployments = {
        d.azure_name: DeploymentSpec(
            endpoint=name,
            name=d.azure_name,
            source=repo.root / d.source,
            model=d.model.reference if d.model.registry else f"azureml:{d.model.reference}",
            instance_type=d.instance_type,
            instance_count=d.instance_count,
            tags={**lineage.tags(d.source), record.DEPLOYMENT: d.name, record.IDENTITY: identities[d.name]},
        )
        for d in desired.deployments.values()
    }
    target = Target(
        name=name,
        endpoint_release=release.endpoint(name).id,
        deployments={d.azure_name: d for d in desired.deployments.values()},
        traffic=nonzero(desired.azure_traffic()),
        mirror={desired.deployments[d].azure_name: s for d, s in desired.mirror_traffic.items() if s},
        strategy=desired.strategy,
        release_tags={record.RELEASE: lineage.release, record.COMMIT: lineage.commit or ""},
        status=status,
        reason=reason,
        gates=gates,
    )
    folder = repo.endpoints[name]
    endpoint_file = repo.root / folder.endpoint_document.path if folder.endpoint_document else None
    sample = (repo.root / desired.sample_request).read_bytes() if desired.sample_request else b"{}"
    settings = {record.ENDPOINT_SETTINGS: desired.settings_hash or ""}  # every write sends the whole file
    return Rollout(
        target, endpoint_file, deployments, sample, release.environment, settings, computes_of(repo, release.environment)
    )


def computes_of(repo: Repository, environment: str) -> dict[str, str]:
    """Each cluster as the files name it -> its Azure name: what an evaluation run is submitted to."""
    return {c.name: c.azure_name for c in repo.environments[environment].environment.all_clusters}


def model_spec(repo: Repository, pin: ModelPin, lineage: Lineage) -> ModelSpec:
    """One model version from its local artifact; the content hash tells a re-run apart."""
    file = repo.models[(pin.name, pin.version)]
    assert pin.path is not None and pin.content_hash is not None
    tags = {**lineage.tags(file.document.path), record.CONTENT_HASH: pin.content_hash}
    return ModelSpec(pin.name, pin.version, repo.root / file.document.path, repo.root / pin.path, tags)


def serverless_spec(repo: Repository, name: str, model_id: str, lineage: Lineage) -> ServerlessSpec:
    document = repo.endpoints[name].serverless_document
    source = repo.root / document.path if document else None
    return ServerlessSpec(name, model_id, source, lineage.tags(document.path if document else ""))
