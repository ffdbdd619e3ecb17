"""A throwaway repository serving the sample prompt flow (models/ticket-triage/v1) on `local`, behind the sample's
evaluation gate (components/ticket_triage_compare on assets/data/ticket-holdout); and other versions of the flow."""

from __future__ import annotations

import shutil
from pathlib import Path

from plane_support import SAMPLE, STRATEGY, commit, git

FLOW_ENDPOINT = "ticket-triage"
#: An edit of the triage flow's code that also knows "time out": right on every line of the held-out data.
BETTER = ('"timeout")', '"timeout", "time out")')
#: One that forgets refunds: wrong on the held-out refund ticket.
WORSE = ('"invoice", "refund", ', '"invoice", ')
EVALUATED = (
    STRATEGY
    + """  evaluation:
    kind: component
    component: azureml:ticket_triage_compare:1
    data: azureml:ticket-holdout:1
    compute: serverless
    criteria:
      - {metric: accuracy, higher_is_better: true, min_delta: 0.0}
"""
)
_PARTS = (
    "models/ticket-triage",
    f"endpoints/{FLOW_ENDPOINT}",
    "components/ticket_triage_compare",
    "assets/data/ticket-holdout",
    "assets/environments/promptflow-runtime",
)


def make_flow_repo(folder: Path) -> Path:
    """The sample flow, its model file and endpoint, and its evaluation's component, Azure ML environment and
    held-out data, in a new git repository whose `local` environment serves the flow behind that evaluation."""
    root = folder / "repo"
    for part in _PARTS:
        shutil.copytree(SAMPLE / part, root / part)
    for asset in ("assets/data/ticket-holdout.yml", "assets/environments/promptflow-runtime.yml"):
        shutil.copy(SAMPLE / asset, root / asset)
    (root / "environments").mkdir()
    (root / "environments" / "local.yaml").write_text(
        f"name: local\nplatform: local\n{EVALUATED}endpoints:\n  {FLOW_ENDPOINT}:\n    deployments:\n"
        "      main:\n        model: ticket-triage:1\n        instance_type: Standard_DS3_v2\n"
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@example.com")
    commit(root, "sample flow")
    return root


def edited_flow(source: Path, target: Path, edit: tuple[str, str]) -> Path:
    """A copy of the flow at `source` whose node's code has one edit (`BETTER`, `WORSE`)."""
    shutil.copytree(source, target)
    code = target / "classify.py"
    old, new = edit
    assert old in code.read_text(), f"{code} has no {old!r}"
    code.write_text(code.read_text().replace(old, new))
    return target


def serve_flow_version(root: Path, version: str, edit: tuple[str, str], base: str = "1") -> None:
    """Version `version` of the flow model (`base`'s flow with `edit`), served by the `local` environment."""
    folder = root / "models" / "ticket-triage"
    edited_flow(folder / f"v{base}", folder / f"v{version}", edit)
    spec = (
        (folder / "v1.yml").read_text().replace('version: "1"', f'version: "{version}"').replace("path: v1", f"path: v{version}")
    )
    (folder / f"v{version}.yml").write_text(spec)
    manifest = root / "environments" / "local.yaml"
    manifest.write_text(manifest.read_text().replace(f"model: ticket-triage:{base}", f"model: ticket-triage:{version}"))
    commit(root, f"ticket-triage {version}")
