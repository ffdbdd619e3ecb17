"""The sample prompt flow on `local`, through the real SDK: deployed as an online endpoint by Azure's
flow-as-model path, answered by promptflow's own serving app behind the endpoint's key, and its
evaluation flow as the gate's evaluator (a better candidate against the live model's files); and refused,
saying how to enable it, when the control plane runs without the prompt flow extra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from flow_support import FLOW_ENDPOINT, TRIAGE_MAPPING, better_candidate, make_flow_repo
from plane_support import Plane

from amlops.flows.evaluate import evaluate_flows
from amlops.local.promptflow import ENABLE_VARIABLE

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
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"text": "I forgot my password"}))
    answer = json.loads(client.online_endpoints.invoke(endpoint_name=FLOW_ENDPOINT, request_file=str(request)))
    assert answer == {"category": "access"}
    deployment = next(iter(plane.live(FLOW_ENDPOINT).deployments))
    assert "promptflow" in client.online_deployments.get_logs(deployment, FLOW_ENDPOINT, lines=200)
    scoring_uri = client.online_endpoints.get(FLOW_ENDPOINT).scoring_uri
    refused = requests.post(scoring_uri, json={"text": "x"}, verify=False, timeout=30)  # no key
    assert refused.status_code == 401

    client.models.download("ticket-triage", version="1", download_path=str(tmp_path / "live"))
    live = next((tmp_path / "live").rglob("flow.dag.yaml")).parent  # the live model's files, as Azure holds them
    metrics = evaluate_flows(
        better_candidate(root, tmp_path / "candidate"),
        live,
        root / "flows" / "ticket-triage-eval" / "data.jsonl",
        evaluation=root / "flows" / "ticket-triage-eval",
        column_mapping=TRIAGE_MAPPING,
    )
    assert (metrics.candidate, metrics.live) == ({"accuracy": 1.0}, {"accuracy": 0.875})


def test_without_the_extra_apply_says_how_to_enable_it(monkeypatch: pytest.MonkeyPatch, plane: Plane, tmp_path: Path):
    monkeypatch.delenv(ENABLE_VARIABLE, raising=False)
    root = make_flow_repo(tmp_path)
    result = plane.apply(root)
    assert not result.ok
    assert f"{ENABLE_VARIABLE}=1" in result.failures[FLOW_ENDPOINT], result.failures
    assert not plane.live(FLOW_ENDPOINT).deployments  # refused when created: nothing left to clean up
