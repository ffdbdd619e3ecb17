"""The training half of plan and apply: asset versions, clusters on local, batch endpoints.

Planned like models (each version registered once, identified by its content hash; different content
under a registered version refused) and like online endpoints (a changed batch deployment spec is a
new deployment under a new Azure name; once it is provisioned the default switches to it, then the
old one is deleted). Jobs that start from model-catalog weights are refused on local, at plan time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from amlops.manifests.repository import Repository
from amlops.release.bundle import ModelPin
from amlops.release.training import AssetPin, BatchEndpointRelease, TrainingRelease, offline_refusal
from amlops.rollout.events import Event, Events, Phase
from amlops.rollout.plan import BatchPlan, Plan
from amlops.rollout.reads import read_all
from amlops.state import record
from amlops.state.record import Lineage, version_conflict
from amlops.workspace.interface import (
    AssetSpec,
    BatchDeploymentSpec,
    BatchEndpointSpec,
    ClusterSpec,
    LiveBatchEndpoint,
    Workspace,
)


@dataclass(frozen=True)
class TrainingLive:
    """What the workspace has of a training release: tags per asset version, clusters, batch endpoints."""

    assets: dict[AssetPin, dict[str, str] | None]
    clusters: set[str]
    batch: dict[str, LiveBatchEndpoint | None]
    models: dict[ModelPin, dict[str, str] | None]


def observe_training(workspace: Workspace, training: TrainingRelease) -> TrainingLive:
    return TrainingLive(
        read_all(lambda pin: workspace.asset_tags(pin.kind, pin.name, pin.version), training.assets),
        workspace.clusters() if training.local and training.clusters else set(),
        read_all(workspace.batch_endpoint, training.batch),
        read_all(lambda pin: workspace.model_tags(pin.name, pin.version), training.models),
    )


def asset_changes(observed: Mapping[AssetPin, dict[str, str] | None]) -> tuple[list[AssetPin], list[str]]:
    """Of asset versions as observed (their tags, or None): those to register, and the conflicts of those
    registered with other content."""
    register, conflicts = [], []
    for pin, tags in observed.items():
        if tags is None:
            register.append(pin)
        elif conflict := version_conflict(f"{pin.kind.noun} {pin.name}:{pin.version}", tags, pin.path, pin.content_hash):
            conflicts.append(conflict)
    return register, conflicts


def plan_training(plan: Plan, training: TrainingRelease, live: TrainingLive) -> Plan:
    """`plan` with what `training` adds to it."""
    register, conflicts = asset_changes(live.assets)
    conflicts = [*plan.conflicts, *conflicts]
    models = list(plan.models)
    for model, found in live.models.items():  # models only batch deployments serve
        if found is None and model not in models:
            models.append(model)
        elif found is not None:
            what = f"model {model.name}:{model.version}"
            conflict = version_conflict(what, found, model.path or "", model.content_hash or "")
            conflicts += [conflict] if conflict else []
    if training.local:
        conflicts += [r for name, kind in training.jobs.items() if (r := offline_refusal(name, kind))]
    clusters = (
        tuple(sorted(c.azure_name for c in training.clusters if c.azure_name not in live.clusters)) if training.local else ()
    )
    batch = [plan_batch(endpoint, live.batch.get(name)) for name, endpoint in sorted(training.batch.items())]
    return dataclasses.replace(
        plan,
        models=tuple(models),
        assets=tuple(register),
        clusters=clusters,
        batch=tuple(b for b in batch if b.changed),
        conflicts=tuple(sorted(set(conflicts), key=conflicts.index)),
    )


def plan_batch(desired: BatchEndpointRelease, live: LiveBatchEndpoint | None) -> BatchPlan:
    wanted = {d.azure_name for d in desired.deployments.values()}
    have = set(live.deployments) if live else set()
    return BatchPlan(
        name=desired.name,
        create=live is None,
        add=tuple(sorted(wanted - have)),
        default=(live.default if live else None, desired.default_azure),
        retire=tuple(sorted(have - wanted)),
    )


def apply_training(
    workspace: Workspace, repo: Repository, training: TrainingRelease, plan: Plan, lineage: Lineage, events: Events
) -> list[str]:
    """What must exist before models and endpoints: clusters, then asset versions. Returns what it registered."""
    for name in plan.clusters:
        cluster = next(c for c in training.clusters if c.azure_name == name)
        events(Event("clusters", Phase.endpoint, f"creating cluster {name} ({cluster.vm_size}, up to {cluster.max_nodes} nodes)"))
        workspace.put_cluster(
            ClusterSpec(
                name,
                cluster.vm_size,
                cluster.min_nodes,
                cluster.max_nodes,
                cluster.idle_seconds,
                cluster.low_priority,
                {record.ENVIRONMENT: lineage.environment},
            )
        )
    for pin in plan.assets:
        events(Event("assets", Phase.model, f"registering {pin.kind.noun} {pin.name}:{pin.version}"))
        tags = {**lineage.tags(pin.path), record.CONTENT_HASH: pin.content_hash}
        workspace.register_asset(AssetSpec(pin.kind, pin.name, pin.version, repo.root / pin.path, tags))
    return [f"{pin.kind.value} {pin.name}:{pin.version}" for pin in plan.assets]


def apply_batch(
    workspace: Workspace, repo: Repository, training: TrainingRelease, plan: Plan, lineage: Lineage, events: Events
) -> None:
    """Each changed batch endpoint: new deployments, then the default switched to the desired one, then the old deleted."""
    for change in plan.batch:
        desired = training.batch[change.name]
        endpoint = BatchEndpointSpec(change.name, repo.root / desired.source, None, lineage.tags(desired.source))
        if change.create:
            events(Event(change.name, Phase.deploy, "creating the batch endpoint"))
            workspace.put_batch_endpoint(endpoint)
        for deployment in desired.deployments.values():
            if deployment.azure_name in change.add:
                events(Event(change.name, Phase.deploy, f"creating batch deployment {deployment.azure_name}"))
                compute = training.computes.get(deployment.compute, deployment.compute) if deployment.compute else None
                tags = {**lineage.tags(deployment.source), record.DEPLOYMENT: deployment.name}
                source = repo.root / deployment.source
                workspace.put_batch_deployment(
                    BatchDeploymentSpec(change.name, deployment.azure_name, deployment.kind, source, compute, tags)
                )
        if change.default[0] != change.default[1]:
            events(Event(change.name, Phase.deploy, f"default deployment {change.default[0] or '(none)'} -> {change.default[1]}"))
        workspace.put_batch_endpoint(dataclasses.replace(endpoint, default=change.default[1]))
        for name in change.retire:
            events(Event(change.name, Phase.deploy, f"deleting batch deployment {name}: no longer in the manifests"))
            workspace.delete_batch_deployment(change.name, name)
