"""What trains, against the local control plane through the unmodified SDK (slow: starts a control plane).

A repository with the sample's training manifests and a local environment that trains and batch-scores
but serves no online endpoint, so no served-model environment is built.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sample_support import REPO, edit
from typer.testing import CliRunner

from amlops.cli.main import app
from amlops.manifests.repository import AssetKind
from amlops.rollout.apply import apply
from amlops.rollout.session import open_session
from amlops.state import record
from amlops.training.follow import Watchers, follow
from amlops.training.submit import job_spec, open_training

pytestmark = pytest.mark.slow

LOCAL = """name: local
platform: local
clusters:
  - name: cpu
    vm_size: Standard_DS3_v2
    max_nodes: 2
jobs:
  - churn-retrain
batch_endpoints:
  churn-batch:
    deployments: [main]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("models", "endpoints/churn", "jobs", "components", "assets", "batch-endpoints"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "environments").mkdir()
    (root / "environments/local.yaml").write_text(LOCAL)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "sample"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True)
    return root


def _apply(root: Path, plane) -> None:
    """As CI applies: from a commit (an uncommitted work tree is refused there)."""
    for args in (
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "change", "--allow-empty"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True)
    session = open_session(root, "local", plane.state_dir)
    result = apply(session.context(lambda _event: None), session.plan())
    assert result.ok, result.failures


def test_assets_clusters_and_the_batch_endpoint_are_registered_once(root: Path, plane):
    _apply(root, plane)
    session = open_session(root, "local", plane.state_dir)
    workspace = session.workspace
    tags = workspace.asset_tags(AssetKind.component, "churn_train", "1")
    assert tags is not None and tags[record.MANIFEST] == "components/churn_train/component.yml"
    assert session.training is not None and set(session.training.computes.values()) <= workspace.clusters()
    live = workspace.batch_endpoint("churn-batch")
    assert live is not None and live.default in live.deployments
    again = session.plan()
    assert not again.changed and again.conflicts == ()
    edit(root / "components/churn_train/src/train.py", "round(c, 6)", "round(c, 5)")
    [conflict] = open_session(root, "local", plane.state_dir).plan().conflicts
    assert conflict.startswith("component churn_train:1 is registered with content")


def test_the_retraining_pipeline_runs_on_local_in_well_under_a_minute(root: Path, plane):
    _apply(root, plane)
    session = open_training(root, "local", plane.state_dir)
    run = session.workspace.submit(job_spec(session, "churn-retrain", {}))
    assert run.studio_url.startswith(f"https://ml.azure.com/runs/{run.name}?wsid=/subscriptions/")
    steps: dict[str, str] = {}
    logs: list[str] = []
    ended = follow(
        session.workspace,
        run.name,
        Watchers(lambda r: None, lambda s: steps.__setitem__(s.node, s.status), logs.append),
        poll=0.5,
    )
    assert ended.status == "Completed", "".join(logs)
    assert steps == {node: "Completed" for node in ("prepare", "train", "evaluate", "register")}
    assert [r.name for r in session.workspace.runs(5)][0] == run.name


def test_amlops_run_streams_shows_the_failed_steps_log_and_exits_1(root: Path, plane, monkeypatch: pytest.MonkeyPatch):
    _apply(root, plane)
    monkeypatch.setenv("AMLOPS_LOCAL_STATE_DIR", str(plane.state_dir))
    runner = CliRunner()
    # A bar no model of noisy data clears: evaluation reports it, and the register step refuses.
    failed = runner.invoke(
        app, ["run", "churn-retrain", "--env", "local", "--wait", "--set", "inputs.min_accuracy=0.999", "--repo", str(root)]
    )
    assert failed.exit_code == 1, failed.output
    assert "step register Failed" in failed.output
    assert "is below 0.999: the candidate is not registered" in failed.output  # the failed step's own log
    listed = runner.invoke(app, ["runs", "--env", "local", "--repo", str(root)])
    assert listed.exit_code == 0 and "Failed" in listed.output and "https://ml.azure.com/runs/" in listed.output


def test_a_pipeline_component_batch_deployment_is_applied_beside_the_model_one(root: Path, plane):
    from test_plan_apply_training import PIPELINE_COMPONENT, PIPELINE_DEPLOYMENT

    (root / "components/churn_retrain").mkdir()
    (root / "components/churn_retrain/component.yml").write_text(PIPELINE_COMPONENT)
    (root / "batch-endpoints/churn-batch/retrain.yml").write_text(PIPELINE_DEPLOYMENT)
    edit(root / "environments/local.yaml", "deployments: [main]", "deployments: [main, retrain]\n    default: main")
    _apply(root, plane)
    session = open_session(root, "local", plane.state_dir)
    assert session.training is not None
    live = session.workspace.batch_endpoint("churn-batch")
    wanted = session.training.batch["churn-batch"]
    assert live is not None and set(live.deployments) == {d.azure_name for d in wanted.deployments.values()}
    assert live.default == wanted.default_azure and not session.plan().changed
