"""Reading the repository: YAML with positions, schemas and cross-checks, into one desired state.

Pure: nothing here talks to Azure. The public entry points are :func:`load_environment` (one
environment file, for the infrastructure program) and :func:`load_repository` (everything, for
validate, plan and apply).

The names below are imported on first use (PEP 562): `load` imports azure-ai-ml's loaders, over a
second to import, which a command that only needs `repository` or `errors` must not pay.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amlops.manifests.environment import Environment
    from amlops.manifests.errors import ManifestError, Problem
    from amlops.manifests.load import load_environment, load_repository, validate_repository
    from amlops.manifests.repository import Repository

_HOMES = {
    "Environment": "environment",
    "ManifestError": "errors",
    "Problem": "errors",
    "load_environment": "load",
    "load_repository": "load",
    "validate_repository": "load",
    "Repository": "repository",
}

__all__ = ["Environment", "ManifestError", "Problem", "Repository", "load_environment", "load_repository", "validate_repository"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
