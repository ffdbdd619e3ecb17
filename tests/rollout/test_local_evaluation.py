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

from amlops.rollout.render import lines
from amlops.state import record
from amlops.state.evaluation import Evaluated

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


def test_a_losing_candidate_is_stopped_by_the_evaluation_with_traffic_unchanged(plane: Plane, tmp_path: Path) -> None:
    root = make_repo(tmp_path, ("churn",), EVALUATED)
    for part in ("components/churn_compare", "assets/data/churn-holdout", "assets/environments"):
        shutil.copytree(SAMPLE / part, root / part)
    shutil.copy(SAMPLE / "assets/data/churn-holdout.yml", root / "assets/data/churn-holdout.yml")
    commit(root, "the evaluation's component and held-out data")
    first = plane.apply(root)
    assert first.ok, first.failures
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
