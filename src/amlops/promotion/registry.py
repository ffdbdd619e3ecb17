"""The registry step of promotion: which models still have to be shared, and that a version means one set of bytes.

The content hash amlops tags every model version with (`amlops.content_hash`) is checked on both
sides, so a version name that means different bytes somewhere is refused before anything is shared.
"""

from __future__ import annotations

from typing import Protocol

from amlops.promotion.plan import ModelShare, Refusal
from amlops.state.record import CONTENT_HASH
from amlops.workspace.interface import Registry, Workspace


class ModelRegistry(Protocol):
    """Checked for every model before any is shared, so a refusal leaves the registry untouched."""

    def missing(self, model: ModelShare) -> bool:
        """Whether `model` still has to be shared; raises Refusal when it cannot be, or means other bytes."""
        ...

    def share(self, model: ModelShare) -> None: ...


class WorkspaceRegistry:
    """The shared registry, fed from the source environment's workspace."""

    def __init__(self, source: Workspace, registry: Registry) -> None:
        self.source, self.registry = source, registry

    def missing(self, model: ModelShare) -> bool:
        existing = self.registry.model_tags(model.name, model.version)
        if existing is not None:
            _same_bytes(model, existing, f"registry {model.registry}")
            return False
        source = self.source.model_tags(model.name, model.version)
        if source is None:
            raise Refusal(
                f"model {model.name}:{model.version} is neither in the source workspace nor in registry {model.registry}"
            )
        _same_bytes(model, source, "the source workspace")
        return True

    def share(self, model: ModelShare) -> None:
        self.registry.share(model.name, model.version)


def _same_bytes(model: ModelShare, tags: dict[str, str], where: str) -> None:
    found = tags.get(CONTENT_HASH)
    if model.content_hash and found and found != model.content_hash:
        raise Refusal(
            f"model {model.name}:{model.version} in {where} has content {found[:12]}, "
            f"but models/ pins {model.content_hash[:12]}: a released version must never change"
        )
