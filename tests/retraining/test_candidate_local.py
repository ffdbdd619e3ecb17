"""`amlops run churn-retrain --env local --wait` ends with a candidate branch that `amlops plan` rolls churn out
to; the same run again makes nothing. Slow: one control plane, two real runs of the sample pipeline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from plane_support import Plane
from promotion.release_helpers import git
from sample_support import REPO
from training.test_local_training import LOCAL as TRAINING_LOCAL
from typer.testing import CliRunner

from amlops.cli.main import app
from amlops.state import record

pytestmark = pytest.mark.slow

#: The training test's local environment without its batch endpoint, serving churn: plan shows its rollout.
LOCAL = TRAINING_LOCAL.split("batch_endpoints:")[0].replace(
    "platform: local\n",
    "platform: local\nendpoints:\n  churn:\n    deployments:\n      main: {model: churn:1, instance_type: Standard_DS2_v2}\n",
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("models", "endpoints/churn", "jobs", "components", "assets"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "environments").mkdir()
    (root / "environments/local.yaml").write_text(LOCAL)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "sample")
    return root


def test_a_retrain_becomes_a_branch_that_plan_rolls_out_and_the_same_bytes_again_make_nothing(
    root: Path, plane: Plane, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert plane.apply(root).ok  # churn serves churn:1; the jobs' assets and the cluster are registered
    monkeypatch.setenv("AMLOPS_LOCAL_STATE_DIR", str(plane.state_dir))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "t"), monkeypatch.setenv("GIT_AUTHOR_EMAIL", "t@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "t"), monkeypatch.setenv("GIT_COMMITTER_EMAIL", "t@example.com")
    runner = CliRunner()
    first = runner.invoke(app, ["run", "churn-retrain", "--env", "local", "--wait", "--repo", str(root)])
    assert first.exit_code == 0, first.output
    [branch] = git(root, "branch", "--list", "retrain/*", "--format=%(refname:short)").splitlines()
    run = branch.removeprefix("retrain/churn-v2-")
    assert f"{run}: churn:2 registered; candidate branch {branch}" in first.output
    # Registered once, from the run's output where the plane keeps it, under the hash the branch pins.
    versions = plane.workspace().model_versions("churn")
    assert sorted(versions) == ["1", "2"] and versions["2"]["amlops.run"] == run
    assert versions["2"]["amlops.data"] == "churn-customers:1" and versions["2"]["amlops.commit"] == git(
        root, "rev-parse", "main"
    )
    assert f"amlops.content_hash: {versions['2'][record.CONTENT_HASH]}" in git(root, "show", f"{branch}:models/churn/v2.yml")
    assert '"accuracy"' in git(root, "show", f"{branch}:models/churn/v2.metrics.json")
    # On the branch, plan rolls the churn endpoint out to churn:2, registering nothing.
    git(root, "switch", "-q", branch)
    planned = runner.invoke(app, ["plan", "--env", "local", "--repo", str(root)])
    assert planned.exit_code == 0, planned.output
    assert "model churn:2" in planned.output and "0 model version(s) to register, 1 endpoint(s) to change" in planned.output
    # The same data trains the same bytes: no version, no branch.
    git(root, "switch", "-q", "main")
    second = runner.invoke(app, ["run", "churn-retrain", "--env", "local", "--wait", "--repo", str(root)])
    assert second.exit_code == 0, second.output
    assert f"identical to churn:2 (registered, candidate branch {branch}): no new version, no branch" in second.output
    assert git(root, "branch", "--list", "retrain/*", "--format=%(refname:short)").splitlines() == [branch]
    assert sorted(plane.workspace().model_versions("churn")) == ["1", "2"]
    # Promotion carries it on: the registry copies the version's bytes from where the run left them.
    registry = plane.workspace().registry("local-registry")
    registry.share("churn", "2")
    assert (registry.model_tags("churn", "2") or {}).get(record.CONTENT_HASH) == versions["2"][record.CONTENT_HASH]
