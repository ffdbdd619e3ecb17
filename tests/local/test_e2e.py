"""End to end with the real SDK: model from a local folder, an endpoint with two deployments split
90/10, invoke, logs, a restart of the control plane, invoke again, delete."""

from __future__ import annotations

import json

import pytest
from azure.ai.ml.entities import ManagedOnlineEndpoint, Model
from azure.core.exceptions import ResourceNotFoundError

pytestmark = pytest.mark.slow


def test_model_endpoint_two_deployments_restart_delete(local) -> None:
    ml = local.client()
    model = ml.models.create_or_update(Model(name="churn", path=str(local.model_dir()), type="custom_model"))
    assert model.version == "1"
    again = ml.models.create_or_update(Model(name="churn", path=str(local.model_dir(factor=3)), type="custom_model"))
    assert again.version == "2"  # auto-incremented from the container's nextVersion
    assert sorted(m.version for m in ml.models.list(name="churn")) == ["1", "2"]

    endpoint = ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="churn", auth_mode="key")).result()
    assert endpoint.provisioning_state.lower() == "succeeded"
    assert endpoint.scoring_uri.startswith(local.conn.resource_manager)

    blue = ml.online_deployments.begin_create_or_update(local.deployment("churn", "blue", "azureml:churn:1")).result()
    green = ml.online_deployments.begin_create_or_update(local.deployment("churn", "green", "azureml:churn:2")).result()
    assert blue.provisioning_state.lower() == green.provisioning_state.lower() == "succeeded"
    assert {d.name for d in ml.online_deployments.list("churn")} == {"blue", "green"}

    endpoint = ml.online_endpoints.get("churn")
    endpoint.traffic = {"blue": 90, "green": 10}
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    assert ml.online_endpoints.get("churn").traffic == {"blue": 90, "green": 10}

    request = local.request_file({"data": [1, 2]})
    answers = [json.loads(ml.online_endpoints.invoke("churn", request_file=str(request))) for _ in range(20)]
    assert sum(a["who"] == "blue" for a in answers) == 18  # smooth weighted round-robin: exact shares
    assert {json.dumps(a["y"]) for a in answers} == {"[2, 4]", "[3, 6]"}
    pinned = json.loads(ml.online_endpoints.invoke("churn", request_file=str(request), deployment_name="green"))
    assert pinned == {"y": [3, 6], "who": "green"}

    metrics = local.admin.metrics("churn")["deployments"]
    assert metrics["blue"]["requests"] == 18 and metrics["green"]["requests"] == 3
    assert metrics["blue"]["errors"] == 0 and metrics["blue"]["latency_ms"]["p95"] > 0

    logs = ml.online_deployments.get_logs("blue", "churn", lines=200)
    assert "serving on unix socket" in logs and "azmlinfsrv" in logs

    local.restart()
    ml = local.client()
    assert ml.online_endpoints.get("churn").traffic == {"blue": 90, "green": 10}
    assert json.loads(ml.online_endpoints.invoke("churn", request_file=str(request), deployment_name="blue")) == {
        "y": [2, 4],
        "who": "blue",
    }
    assert ml.models.get("churn", "2").version == "2"

    endpoint.traffic = {"blue": 0, "green": 100}
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    ml.online_deployments.begin_delete("blue", "churn").result()
    assert {d.name for d in ml.online_deployments.list("churn")} == {"green"}
    ml.online_endpoints.begin_delete("churn").result()
    with pytest.raises(ResourceNotFoundError):
        ml.online_endpoints.get("churn")
    assert local.serving_processes() == []
