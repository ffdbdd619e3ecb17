"""The sample prompt flow on `local`, through the real SDK: deployed as an online endpoint by Azure's
flow-as-model path, answered by promptflow's own serving app behind the endpoint's key; its evaluation
flow as the evaluation gate (the comparison component run as a job on the held-out data asset), which
rolls a better flow out and stops a worse one with nothing written to traffic; and refused, saying how to
enable it, when the control plane runs without the prompt flow extra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from flow_support import BETTER, FLOW_ENDPOINT, WORSE, make_flow_repo, serve_flow_version
from plane_support import Plane

from amlops.local.promptflow import ENABLE_VARIABLE
from amlops.state import record
from amlops.state.evaluation import Evaluated

pytestmark = pytest.mark.slow


@pytest.fixture
def promptflow_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control plane the `plane` fixture starts next inherits the switch."""
    monkeypatch.setenv(ENABLE_VARIABLE, "1")


def test_a_flow_deploys_as_an_online_endpoint_served_by_promptflow(promptflow_enabled, plane: Plane, tmp_path: Path):
    root = make_flow_repo(tmp_path)
    result = plane.apply(root)
    assert result.ok, result.failures
    client = plane.client()
    model = client.models.get("ticket-triage", version="1")
    assert model.properties["azureml.promptflow.source_flow_id"] == "ticket-triage"
    assert ask(client, tmp_path, "I forgot my password") == "access"
    deployment = next(iter(plane.live(FLOW_ENDPOINT).deployments))
    assert "promptflow" in client.online_deployments.get_logs(deployment, FLOW_ENDPOINT, lines=200)
    scoring_uri = client.online_endpoints.get(FLOW_ENDPOINT).scoring_uri
    refused = requests.post(scoring_uri, json={"text": "x"}, verify=False, timeout=30)  # no key
    assert refused.status_code == 401


def ask(client, tmp_path: Path, text: str) -> str:
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"text": text}))
    return json.loads(client.online_endpoints.invoke(endpoint_name=FLOW_ENDPOINT, request_file=str(request)))["category"]


def test_the_evaluation_flow_gates_a_new_flow_version(promptflow_enabled, plane: Plane, tmp_path: Path):
    root = make_flow_repo(tmp_path)
    first = plane.apply(root)
    assert first.ok, first.failures
    assert any("no live model to compare candidate ticket-triage:1 with" in m for m in plane.said(FLOW_ENDPOINT))
    client = plane.client()

    serve_flow_version(root, "2", BETTER)  # right on the held-out "time out" ticket v1 calls "other"
    better = plane.apply(root)
    assert better.ok and [o.endpoint for o in better.outcomes] == [FLOW_ENDPOINT], better.failures
    (outcome,) = better.outcomes
    assert outcome.evaluated is not None and outcome.evaluated.passed
    assert outcome.evaluated.describe() == (  # the apply report's line
        "evaluation passed: accuracy 1 (candidate ticket-triage:2) vs 0.875 (live ticket-triage:1)"
    )
    job = client.jobs.get(outcome.evaluated.job)
    assert job.status == "Completed" and job.experiment_name == f"amlops-evaluation-{FLOW_ENDPOINT}"
    assert ask(client, tmp_path, "Requests time out since this morning") == "outage"  # v2 serves all traffic
    before = client.online_endpoints.get(FLOW_ENDPOINT)
    (serving,) = [d.name for d in client.online_deployments.list(FLOW_ENDPOINT)]

    serve_flow_version(root, "3", WORSE, base="2")  # forgets refunds
    worse = plane.apply(root)
    assert [f.endpoint for f in worse.rolled_back] == [FLOW_ENDPOINT], worse.failures
    (stopped,) = worse.rolled_back
    assert stopped.evaluated is not None and not stopped.evaluated.passed
    assert "accuracy 0.875 (candidate ticket-triage:3) vs 1 (live ticket-triage:2)" in stopped.reason
    after = client.online_endpoints.get(FLOW_ENDPOINT)
    assert after.traffic == before.traffic == {serving: 100}
    assert not any((after.mirror_traffic or {}).values())
    assert [d.name for d in client.online_deployments.list(FLOW_ENDPOINT)] == [serving]  # no deployment for v3
    assert Evaluated.decode(after.tags[record.EVALUATION]) == stopped.evaluated
    assert ask(client, tmp_path, "Can I get a refund for the unused months?") == "billing"  # still v2


def test_without_the_extra_apply_says_how_to_enable_it(monkeypatch: pytest.MonkeyPatch, plane: Plane, tmp_path: Path):
    monkeypatch.delenv(ENABLE_VARIABLE, raising=False)
    root = make_flow_repo(tmp_path)
    result = plane.apply(root)
    assert not result.ok
    assert f"{ENABLE_VARIABLE}=1" in result.failures[FLOW_ENDPOINT], result.failures
    assert not plane.live(FLOW_ENDPOINT).deployments  # refused when created: nothing left to clean up
