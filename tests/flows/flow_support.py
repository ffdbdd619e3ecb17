"""A throwaway repository serving the sample prompt flow (models/ticket-triage/v1) on `local`."""

from __future__ import annotations

import shutil
from pathlib import Path

from plane_support import SAMPLE, STRATEGY, commit, git

FLOW_ENDPOINT = "ticket-triage"
#: The evaluation flow's inputs: the flow's answer on each line, and that line's label.
TRIAGE_MAPPING = {"category": "${run.outputs.category}", "label": "${data.label}"}


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


def better_candidate(root: Path, target: Path) -> Path:
    """A copy of the triage flow that also knows "time out": right on every line of the sample data."""
    shutil.copytree(root / "models" / "ticket-triage" / "v1", target)
    code = target / "classify.py"
    code.write_text(code.read_text().replace('"timeout")', '"timeout", "time out")'))
    return target
