"""The edge to Azure ML: an MLClient for an environment, and its live state as plain dataclasses.

For promotion: `live_release(root, "staging")` says which release an environment serves, whether it
is healthy, and since when, rebuilt from the workspace itself (no runner's disk, no git history).
"""

from __future__ import annotations

from pathlib import Path

from amlops.manifests import load_environment
from amlops.rollout.status import LiveRelease
from amlops.workspace.client import Workspace, open_workspace


def live_release(root: Path, environment: str, state_dir: Path | None = None) -> LiveRelease:
    """(release_id, healthy, since, endpoints) for `environment` of the repository at `root`.

    `release_id` equals `build_release(repo, environment).id` exactly when every endpoint serves
    what that release declares; it is None while a rollout is under way.
    """
    from amlops.rollout.status import live_release as rebuild
    from amlops.workspace.observe import observe_managed

    workspace = open_workspace(load_environment(root, environment), state_dir)
    return rebuild(environment, observe_managed(workspace.client, environment))


__all__ = ["LiveRelease", "Workspace", "live_release", "open_workspace"]
