"""The whole loop on `local`, through the unmodified SDK (slow): monitor, retrain, redeploy.

The churn endpoint serves churn:1 and its data collector writes what it receives; customers whose
tenure has drifted breach the drift monitor; the monitor starts the retraining pipeline; the run ends
with a candidate branch; apply on that branch passes the evaluation gate and rolls churn:2 out.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import pytest
from plane_support import Plane, git
from sample_support import REPO
from test_local_schedules import commit
from typer.testing import CliRunner

from amlops.cli.main import app
from amlops.monitoring.act import latest_runs, monitors_of
from amlops.training.submit import open_training
from amlops.workspace.interface import JOB_TERMINAL

pytestmark = pytest.mark.slow

LOCAL = """name: local
platform: local
strategy:
  steps: [{weight: 100}]
  gate: {max_error_rate: 0.05, max_latency_p95_ms: 5000, min_requests: 1}
  evaluation:
    kind: component
    component: azureml:churn_compare:1
    data: azureml:churn-holdout:1
    compute: cpu
    criteria:
      - {metric: accuracy, higher_is_better: true, min_delta: 0.0}
endpoints:
  churn:
    deployments:
      main: {model: "churn:1", instance_type: Standard_DS3_v2}
clusters:
  - {name: cpu, vm_size: Standard_DS3_v2, max_nodes: 2}
jobs: [churn-retrain]
schedules: [churn-drift]
monitors:
  churn-drift: {on_breach: {run: churn-retrain}}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("models", "endpoints/churn", "jobs", "components", "assets", "schedules"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "environments").mkdir()
    (root / "environments/local.yaml").write_text(LOCAL)
    commit(root)
    return root


def drifted_customers() -> list[list[float]]:
    """The baseline's customers, each two standard deviations longer a customer: tenure has drifted."""
    with (REPO / "assets/data/churn-baseline/inputs.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return [[float(r["tenure_months"]) + 2, float(r["monthly_charges"]), float(r["support_calls"])] for r in rows]


def test_a_drifted_input_retrains_and_the_candidate_passes_the_evaluation_and_rolls_out(
    root: Path, plane: Plane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(variable, "t")
    for variable in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(variable, "t@example.com")
    monkeypatch.setenv("AMLOPS_LOCAL_STATE_DIR", str(plane.state_dir))
    runner = CliRunner()
    first = plane.apply(root)
    assert first.ok, first.failures  # churn:1 serves (no live model to compare with: the evaluation passes)
    client = plane.client()

    # The endpoint receives drifted customers; its data collector writes them where the monitor reads.
    request = tmp_path / "request.json"
    customers = drifted_customers()
    for start in range(0, len(customers), 20):
        request.write_text(json.dumps({"data": customers[start : start + 20]}))
        assert "probabilities" in json.loads(client.online_endpoints.invoke("churn", request_file=str(request)))

    # The monitor runs over what was collected, and breaches on tenure.
    fired = client.schedules.trigger("churn-drift")
    session = open_training(root, "local", plane.state_dir)
    monitors = monitors_of(session.repo, "local")
    deadline = time.time() + 120
    while (run := latest_runs(session.workspace, monitors)["churn-drift"]) is None or run.status not in JOB_TERMINAL:
        assert time.time() < deadline, run
        time.sleep(0.5)
    assert run.run == fired.job_name and run.status == "Completed", run
    tenure = {r.feature: r for r in run.results}["tenure_months"]
    assert tenure.breached and tenure.value > tenure.threshold, tenure

    # The breach starts the retraining, whose run ends with a candidate branch.
    started = runner.invoke(app, ["monitor", "--env", "local", "--wait", "--repo", str(root)])
    assert started.exit_code == 0, started.output
    [branch] = git(root, "branch", "--list", "retrain/*", "--format=%(refname:short)").splitlines()
    assert branch.startswith("retrain/churn-v2-") and f"candidate branch {branch}" in started.output

    # Merged, the candidate passes the evaluation gate against churn:1 and takes the traffic.
    git(root, "switch", "-q", branch)
    second = plane.apply(root)
    assert second.ok, second.failures
    live = plane.live("churn")
    assert live is not None
    [serving] = [name for name, share in live.traffic.items() if share == 100]
    assert client.online_deployments.get(serving, endpoint_name="churn").model.endswith("/models/churn/versions/2")
    evaluated = " ".join(plane.said("churn"))
    assert "candidate churn:2" in evaluated and "live churn:1" in evaluated, evaluated
