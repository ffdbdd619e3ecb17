"""A throwaway repository serving the sample prompt flow (flows/ticket-triage) on `local`."""

from __future__ import annotations

import shutil
from pathlib import Path

from plane_support import SAMPLE, STRATEGY, commit, git

FLOW_ENDPOINT = "ticket-triage"


def make_flow_repo(folder: Path) -> Path:
    """The sample flow, its model file and endpoint, in a new git repository with a `local` environment."""
    root = folder / "repo"
    for part in ("flows", "models/ticket-triage", f"endpoints/{FLOW_ENDPOINT}"):
        shutil.copytree(SAMPLE / part, root / part)
    (root / "environments").mkdir()
    (root / "environments" / "local.yaml").write_text(
        f"name: local\nplatform: local\n{STRATEGY}endpoints:\n  {FLOW_ENDPOINT}:\n    deployments:\n"
        "      main:\n        model: ticket-triage:1\n        instance_type: Standard_DS3_v2\n"
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@example.com")
    commit(root, "sample flow")
    return root
