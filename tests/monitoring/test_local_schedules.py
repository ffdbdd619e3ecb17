"""Schedules and model monitors against the local control plane, through the unmodified SDK (slow).

A repository with the sample's training manifests, its churn endpoint and its two schedules: the weekly
retraining and the churn-drift monitor. Time passes by Azure's own trigger-now call
(`ml_client.schedules.trigger`); the scheduler's times are tested without a plane (test_scheduling.py).
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sample_support import REPO
from typer.testing import CliRunner

from amlops.cli.main import app
from amlops.local.blobs import BlobStore
from amlops.local.connection import STORAGE_SUFFIX
from amlops.monitoring.act import latest_runs, monitors_of, run_monitors
from amlops.monitoring.decide import Action
from amlops.rollout.apply import apply
from amlops.rollout.plan import Change
from amlops.rollout.session import open_session
from amlops.training.submit import open_training
from amlops.workspace.interface import JOB_TERMINAL

pytestmark = pytest.mark.slow

LOCAL = """name: local
platform: local
strategy:
  steps: [{weight: 100}]
  gate: {max_error_rate: 0.05, max_latency_p95_ms: 5000, min_requests: 1}
clusters:
  - {name: cpu, vm_size: Standard_DS3_v2, max_nodes: 2}
jobs: [churn-retrain]
schedules: [churn-retrain-weekly%s]
%s
"""
ENDPOINT = """endpoints:
  churn:
    deployments:
      main: {model: "churn:1", instance_type: Standard_DS3_v2}
"""
MONITORS = """monitors:
  churn-drift: {on_breach: {run: churn-retrain}}
"""


def repository(folder: Path, monitored: bool) -> Path:
    root = folder / "repo"
    parts = ["models", "jobs", "components", "assets", "schedules", "endpoints/churn"]
    for part in parts:
        shutil.copytree(REPO / part, root / part)
    (root / "environments").mkdir()
    body = LOCAL % ((", churn-drift", ENDPOINT + MONITORS) if monitored else ("", ""))
    (root / "environments/local.yaml").write_text(body)
    commit(root)
    return root


def commit(root: Path) -> None:
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "x", "--allow-empty"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def applied(root: Path, plane):
    session = open_session(root, "local", plane.state_dir)
    plan = session.plan()
    result = apply(session.context(lambda _event: None), plan)
    assert result.ok, result.failures
    return plan


def test_a_job_schedule_is_applied_once_and_its_run_is_listed_when_it_fires(tmp_path: Path, plane):
    root = repository(tmp_path, monitored=False)
    first = applied(root, plane)
    assert [(c.change, c.name) for c in first.schedules] == [(Change.create, "churn-retrain-weekly")]
    again = open_session(root, "local", plane.state_dir).plan()
    assert again.schedules == () and not again.changed  # the second apply has nothing to do
    client = plane.client()
    schedule = client.schedules.get("churn-retrain-weekly")
    assert schedule.is_enabled and schedule.trigger.expression == "0 6 * * 1"
    assert schedule.tags["amlops.environment"] == "local"
    fired = client.schedules.trigger("churn-retrain-weekly")
    runs = open_training(root, "local", plane.state_dir).workspace.runs(5)
    [run] = [r for r in runs if r.name == fired.job_name]
    assert run.display_name.startswith("churn-retrain-weekly-") and run.kind == "pipeline"
    # A changed trigger is an update of that field only.
    path = root / "schedules/churn-retrain-weekly.yml"
    path.write_text(path.read_text().replace('"0 6 * * 1"', '"0 7 * * 1"'))
    [update] = open_session(root, "local", plane.state_dir).plan().schedules
    assert (update.change, update.fields) == (Change.replace, ("trigger",))


def collected(plane, deployment: str, rows: list[dict[str, float]]) -> None:
    """JSONL rows as Azure's data collector writes them, under the workspace blob datastore, this hour."""
    store = plane.client().datastores.get("workspaceblobstore")
    hour = datetime.now(UTC).strftime("%Y/%m/%d/%H")
    blob = f"modelDataCollector/churn/{deployment}/model_inputs/{hour}/rows.jsonl"
    path = BlobStore(plane.state_dir / "blobs", STORAGE_SUFFIX).local_path(store.account_name, store.container_name, blob)
    path.parent.mkdir(parents=True, exist_ok=True)
    event = {"specversion": "1.0", "type": "azureml.inference.model_inputs", "datacontenttype": "application/json"}
    path.write_text("".join(json.dumps({**event, "id": str(i), "data": [row]}) + "\n" for i, row in enumerate(rows)))


def test_a_shifted_input_breaches_the_drift_monitor_which_starts_one_retraining(tmp_path: Path, plane, monkeypatch):
    root = repository(tmp_path, monitored=True)
    applied(root, plane)
    [deployment] = [d.name for d in plane.client().online_deployments.list("churn")]
    # The baseline's own customers, but each two standard deviations longer a customer: tenure drifted.
    with (REPO / "assets/data/churn-baseline/inputs.csv").open() as handle:
        baseline = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    collected(plane, deployment, [{**row, "tenure_months": row["tenure_months"] + 2} for row in baseline])
    fired = plane.client().schedules.trigger("churn-drift")
    session = open_training(root, "local", plane.state_dir)
    monitors = monitors_of(session.repo, "local")
    deadline = time.time() + 60
    while (run := latest_runs(session.workspace, monitors)["churn-drift"]) is None or run.status not in JOB_TERMINAL:
        assert time.time() < deadline, run
        time.sleep(0.5)
    assert run.run == fired.job_name and run.status == "Completed"
    tenure = {r.feature: r for r in run.results}["tenure_months"]
    assert tenure.metric == "normalized_wasserstein_distance" and tenure.threshold == 0.1 and tenure.breached
    assert not {r.feature: r for r in run.results}["support_calls"].breached
    [outcome] = run_monitors(session)
    assert outcome.verdict.action is Action.start and outcome.started is not None
    # Twice is once: the second pass finds the run that answers this breach. And status shows the figures.
    monkeypatch.setenv("AMLOPS_LOCAL_STATE_DIR", str(plane.state_dir))
    again = CliRunner().invoke(app, ["monitor", "--env", "local", "--repo", str(root)])
    assert again.exit_code == 0 and f"answered by {outcome.started.name}" in again.output, again.output
    shown = CliRunner().invoke(app, ["status", "--env", "local", "--repo", str(root)])
    assert "monitor churn-drift  breached" in shown.output, shown.output
    assert "input_drift  tenure_months  normalized_wasserstein_distance" in shown.output
