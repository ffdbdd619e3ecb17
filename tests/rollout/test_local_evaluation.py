"""The evaluation gate on the local control plane, through the real SDK (slow: starts a control plane).

A churn model version with worse weights is compared with the live one by the sample's comparison
component on the held-out data asset, run as a job; it loses, and the endpoint's traffic, read back
through the SDK, is what it was: the candidate never got a share, a mirror, or a deployment.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from plane_support import SAMPLE, STRATEGY, Plane, bump_churn, commit, make_repo
from typer.testing import CliRunner

from amlops.cli.main import app
from amlops.rollout.render import lines
from amlops.rollout.specs import model_spec
from amlops.state import record
from amlops.state.evaluation import Evaluated
from amlops.state.record import Lineage

pytestmark = pytest.mark.slow

EVALUATED = (
    STRATEGY
    + """  evaluation:
    kind: component
    component: azureml:churn_compare:1
    data: azureml:churn-holdout:1
    compute: serverless
    criteria:
      - {metric: accuracy, min_delta: 0.0}
"""
)


def serving_churn_1(plane: Plane, tmp_path: Path, strategy: str = EVALUATED) -> Path:
    """A repository whose churn endpoint has the component evaluation (`strategy`), applied: churn:1 serves."""
    root = make_repo(tmp_path, ("churn",), strategy)
    for part in ("components/churn_compare", "assets/data/churn-holdout", "assets/environments"):
        shutil.copytree(SAMPLE / part, root / part)
    shutil.copy(SAMPLE / "assets/data/churn-holdout.yml", root / "assets/data/churn-holdout.yml")
    commit(root, "the evaluation's component and held-out data")
    first = plane.apply(root)
    assert first.ok, first.failures
    return root


def test_a_losing_candidate_is_stopped_by_the_evaluation_with_traffic_unchanged(plane: Plane, tmp_path: Path) -> None:
    root = serving_churn_1(plane, tmp_path)
    assert any("no live model to compare candidate churn:1 with" in m for m in plane.said("churn"))
    client = plane.client()
    before = client.online_endpoints.get("churn")
    (old,) = [d.name for d in client.online_deployments.list("churn")]

    bump_churn(root, "2", coefficients=[-4.0, -0.6, 2.6])  # v1's weights turned around: wrong nearly always
    planned = plane.session(root).plan()
    assert any(r[0].strip() == "evaluation" and "candidate churn:2 against live churn:1" in r[2] for r in lines(planned))
    second = plane.apply(root)

    assert [f.endpoint for f in second.rolled_back] == ["churn"], second.failures
    reason = second.rolled_back[0].reason
    assert "evaluation failed: accuracy" in reason and "(candidate churn:2) vs 0.9 (live churn:1)" in reason
    after = client.online_endpoints.get("churn")
    assert after.traffic == before.traffic == {old: 100}
    assert not any((after.mirror_traffic or {}).values())
    assert [d.name for d in client.online_deployments.list("churn")] == [old]  # no deployment for the candidate
    evaluated = Evaluated.decode(after.tags[record.EVALUATION])
    assert evaluated is not None and not evaluated.passed and evaluated.job
    candidate, live = evaluated.figures["accuracy"]
    assert live == 0.9 and candidate is not None and candidate < live
    job = client.jobs.get(evaluated.job)
    assert job.status == "Completed" and job.experiment_name == "amlops-evaluation-churn"
    again = [r[2] for r in lines(plane.session(root).plan()) if r[0].strip() == "evaluation"]
    assert again and "recorded so far: evaluation failed: accuracy" in again[0]  # what the PR comment shows now


def test_evaluate_ahead_of_apply_puts_both_figures_in_the_plan_and_apply_runs_nothing_again(plane: Plane, tmp_path: Path) -> None:
    """The pull request's flow: churn:2 registered (as a retrain run registers its candidate), `amlops evaluate`
    runs the comparison and fails; `amlops plan --format markdown` shows both figures; apply refuses churn:2
    on that same run, submitting none."""
    root = serving_churn_1(plane, tmp_path)
    bump_churn(root, "2", coefficients=[-4.0, -0.6, 2.6])  # v1's weights turned around: wrong nearly always
    session = plane.session(root)
    (pin,) = session.plan().models
    session.workspace.register_model(model_spec(session.repo, pin, Lineage("local", session.release.id, None)))
    client = plane.client()
    before = client.online_endpoints.get("churn")
    jobs = {j.name for j in client.jobs.list()}
    plane.admin.reset_requests()

    cli, env = CliRunner(), {"AMLOPS_LOCAL_STATE_DIR": str(plane.state_dir)}
    evaluated = cli.invoke(app, ["evaluate", "--env", "local", "--repo", str(root)], env=env)

    assert evaluated.exit_code == 1, evaluated.output  # a CI step fails: apply will refuse this candidate
    assert "churn: evaluation failed: accuracy" in evaluated.stdout and "vs 0.9 (live churn:1)" in evaluated.stdout
    (run,) = {j.name for j in client.jobs.list()} - jobs
    routes = plane.admin.requests(log=0)["routes"]
    writes = {r["route"]: r["count"] for r in routes if r["kind"] == "arm" and r["method"] in ("PUT", "PATCH", "DELETE")}
    assert writes == {"PUT {ws}/jobs/{name}": 1}, writes  # the run, and nothing that serves (the POSTs list or resolve)
    after = client.online_endpoints.get("churn")
    assert after.traffic == before.traffic and after.tags == before.tags
    planned = cli.invoke(app, ["plan", "--env", "local", "--repo", str(root), "--format", "markdown"], env=env)
    assert planned.exit_code == 0, planned.output
    assert "recorded so far: evaluation failed: accuracy" in planned.stdout and "(live churn:1)" in planned.stdout

    applied = plane.apply(root)
    assert [f.endpoint for f in applied.rolled_back] == ["churn"], applied.failures
    assert any(f"found evaluation run {run} (Completed)" in m for m in plane.said("churn"))
    assert {j.name for j in client.jobs.list()} - jobs == {run}  # no second comparison run
    assert client.online_endpoints.get("churn").traffic == before.traffic
