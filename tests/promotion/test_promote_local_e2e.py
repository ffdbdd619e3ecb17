"""Promotion end to end between two local environments, as a user runs it, through the real SDK.

`dev` and `staging` are `platform: local`: two workspaces on one local control plane, promoting
through its registry. Apply dev, `amlops promote --from dev --to staging`, check out the promotion
branch, apply staging: staging then serves dev's release, the same model bytes, and answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plane_support import Plane, bump_churn, commit, git, make_repo, write_environment
from ruamel.yaml import YAML
from typer.testing import CliRunner

from amlops.cli.main import app
from amlops.local.client import ml_client
from amlops.state.status import live_release

pytestmark = pytest.mark.slow

#: One gated step and no soak, so dev's release may be promoted as soon as it is live.
STRATEGY = """strategy:
  steps:
    - weight: 100
  gate:
    max_error_rate: 0.05
    max_latency_p95_ms: 2000
    min_requests: 5
  soak_minutes: 0
"""
HEADER = "# staging: releases soak here before prod.\n"
PINNED = "# the release staging serves today"


@pytest.fixture
def repo(plane: Plane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dev serves churn:2 (new bytes), staging still churn:1; the promotion path is dev -> staging."""
    monkeypatch.setenv("AMLOPS_LOCAL_STATE_DIR", str(plane.state_dir))  # the CLI reaches this plane, not the user's
    root = make_repo(tmp_path)
    for name in ("dev", "staging"):
        write_environment(root, {"churn": "1"}, STRATEGY, name=name)
    staging = root / "environments" / "staging.yaml"
    staging.write_text(HEADER + staging.read_text().replace("model: churn:1", "model: churn:1  " + PINNED))
    (root / "releases").mkdir()
    (root / "releases" / "promotion.yaml").write_text("path: [dev, staging]\n")
    commit(root, "dev and staging")
    bump_churn(root, environment="dev")
    return root


def promote(root: Path):
    return CliRunner().invoke(app, ["promote", "--from", "dev", "--to", "staging", "--repo", str(root)])


def score(plane: Plane, root: Path, environment: str) -> object:
    """The churn endpoint's answer to its sample request, by traffic, as a client would call it."""
    request = root / "endpoints" / "churn" / "sample-request.json"
    return json.loads(plane.client(environment).online_endpoints.invoke("churn", request_file=str(request)))


def test_dev_release_is_promoted_and_serves_in_staging(plane: Plane, repo: Path) -> None:
    assert plane.apply(repo, "dev").ok
    dev = live_release("dev", plane.workspace("dev").observe())
    assert dev.release_id is not None and dev.healthy

    promoted = promote(repo)
    assert promoted.exit_code == 0, promoted.output
    branch = f"promote/staging/{plane.session(repo, 'dev').release.alias}"
    shared = "  azureml://registries/local-registry/models/churn/versions/2 (shared into the registry)"
    assert shared in promoted.stdout.splitlines()  # whole lines, to copy and paste, however narrow the terminal
    assert f"next: git push origin {branch}, and open a pull request" in promoted.stdout.splitlines()
    assert git(repo, "branch", "--list", branch).strip()
    assert git(repo, "status", "--porcelain") == "" and git(repo, "branch", "--show-current").strip() == "main"
    manifest = git(repo, "show", f"{branch}:environments/staging.yaml")
    assert manifest.startswith(HEADER)
    (model,) = [line.split() for line in manifest.splitlines() if "model:" in line]
    assert model == ["model:", "azureml://registries/local-registry/models/churn/versions/2", *PINNED.split()]
    (record,) = YAML(typ="safe").load(git(repo, "show", f"{branch}:releases/history/staging.yaml"))
    assert (record["from"], record["to"], record["release"]["id"]) == ("dev", "staging", dev.release_id)

    git(repo, "switch", "-q", branch)
    assert plane.apply(repo, "staging").ok
    staging = live_release("staging", plane.workspace("staging").observe())
    assert staging.release_id == dev.release_id and staging.healthy
    answer = score(plane, repo, "staging")
    assert answer and answer == score(plane, repo, "dev")  # the same bytes answer the same


def test_promoting_before_dev_is_applied_refuses_and_changes_nothing(plane: Plane, repo: Path) -> None:
    before = [git(repo, *args) for args in (["status", "--porcelain"], ["branch", "--list"], ["rev-parse", "HEAD"])]
    refused = promote(repo)
    assert refused.exit_code == 1
    assert "promotion refused: churn has no release live in dev: apply dev first" in refused.output
    assert [git(repo, *args) for args in (["status", "--porcelain"], ["branch", "--list"], ["rev-parse", "HEAD"])] == before
    assert list(ml_client(plane.state_dir, registry="local-registry").models.list()) == []  # nothing shared
