"""The Azure ML registry edge of promotion: models move from the source workspace as the same bytes.

`models.share` copies the workspace's model version into the registry (no upload from here, no
retraining). The content hash amlops tags every model version with (`amlops.content_hash`) is
checked on both sides, so a version name that means different bytes somewhere is refused.
"""

from __future__ import annotations

from typing import Protocol

from azure.ai.ml import MLClient
from azure.ai.ml.entities import Model
from azure.core.exceptions import ResourceNotFoundError

from amlops.release.promotion import ModelShare, Refusal
from amlops.rollout.record import CONTENT_HASH


class ModelRegistry(Protocol):
    """Checked for every model before any is shared, so a refusal leaves the registry untouched."""

    def missing(self, model: ModelShare) -> bool:
        """Whether `model` still has to be shared; raises Refusal when it cannot be, or means other bytes."""
        ...

    def share(self, model: ModelShare) -> None: ...


class SdkRegistry:
    """The shared registry through azure-ai-ml: `workspace` is the source environment's client."""

    def __init__(self, workspace: MLClient, registry: MLClient) -> None:
        self.workspace = workspace
        self.registry = registry

    def missing(self, model: ModelShare) -> bool:
        existing = _get(self.registry, model)
        if existing is not None:
            _same_bytes(model, existing.tags, f"registry {model.registry}")
            return False
        source = _get(self.workspace, model)
        if source is None:
            raise Refusal(
                f"model {model.name}:{model.version} is neither in the source workspace nor in registry {model.registry}"
            )
        _same_bytes(model, source.tags, "the source workspace")
        return True

    def share(self, model: ModelShare) -> None:
        self.workspace.models.share(
            model.name,
            model.version,
            registry_name=model.registry,
            share_with_name=model.name,
            share_with_version=model.version,
        )


def _get(client: MLClient, model: ModelShare) -> Model | None:
    try:
        return client.models.get(model.name, version=model.version)
    except ResourceNotFoundError:
        return None


def _same_bytes(model: ModelShare, tags: dict[str, str] | None, where: str) -> None:
    found = (tags or {}).get(CONTENT_HASH)
    if model.content_hash and found and found != model.content_hash:
        raise Refusal(
            f"model {model.name}:{model.version} in {where} has content {found[:12]}, "
            f"but models/ pins {model.content_hash[:12]}: a released version must never change"
        )


def sdk_registry(workspace: MLClient, registry: str) -> SdkRegistry:
    """The registry beside a workspace client, reached with the same credential and cloud (Azure or local)."""
    client = MLClient(
        workspace._credential,
        workspace.subscription_id,
        registry_name=registry,
        cloud=workspace._cloud,
        enable_telemetry=False,
        show_progress=False,
    )
    return SdkRegistry(workspace, client)
