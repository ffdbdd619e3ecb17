"""The control plane's answers to the SDK beyond the happy path: ARM-like errors and validation,
request counters, fault injection, auth, mirror traffic, a failing init(), serverless endpoints.
One server for the module; each test uses its own endpoint names and clears the faults it set."""

from __future__ import annotations

import json

import pytest
import requests
from azure.ai.ml.entities import CodeConfiguration, ManagedOnlineEndpoint, Model, ServerlessEndpoint
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ml(local):
    return local.client()


@pytest.fixture(scope="module")
def model(local, ml):
    return ml.models.create_or_update(Model(name="api-model", path=str(local.model_dir()), type="custom_model"))


@pytest.fixture(autouse=True)
def _no_faults(local):
    yield
    local.admin.clear_faults()


def _endpoint(ml, name: str, auth_mode: str = "key"):
    return ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name, auth_mode=auth_mode)).result()


def _arm(local, method: str, path: str, **kwargs) -> requests.Response:
    ws = (
        f"subscriptions/{local.conn.subscription_id}/resourceGroups/{local.conn.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{local.conn.workspace_name}"
    )
    return requests.request(
        method,
        f"{local.conn.resource_manager}{ws}{path}",
        verify=local.conn.ca_bundle,
        params={"api-version": "2024-04-01"},
        timeout=30,
        **kwargs,
    )


def test_missing_resources_are_404_resource_not_found(local, ml) -> None:
    with pytest.raises(ResourceNotFoundError) as err:
        ml.online_endpoints.get("no-such-endpoint")
    assert "ResourceNotFound" in str(err.value)
    with pytest.raises(ResourceNotFoundError):
        ml.models.get("no-such-model", "1")
    body = _arm(local, "GET", "/onlineEndpoints/nope", headers={"Authorization": f"Bearer {local.conn.token}"}).json()
    assert body["error"]["code"] == "ResourceNotFound" and body["error"]["message"]


def test_requests_without_a_bearer_token_are_401(local) -> None:
    resp = _arm(local, "GET", "/onlineEndpoints")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "AuthenticationFailed"


@pytest.mark.parametrize("name", ["ab", "a" * 33, "1abc", "bad_name"])
def test_endpoint_names_are_validated(local, name: str) -> None:
    resp = _arm(
        local,
        "PUT",
        f"/onlineEndpoints/{name}",
        headers={"Authorization": f"Bearer {local.conn.token}"},
        json={"location": "local", "properties": {"authMode": "Key"}},
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "BadArgument"


def test_traffic_validation_and_deleting_a_live_deployment(local, ml, model) -> None:
    _endpoint(ml, "traffic-checks")
    ml.online_deployments.begin_create_or_update(
        local.deployment("traffic-checks", "blue", f"azureml:api-model:{model.version}")
    ).result()
    endpoint = ml.online_endpoints.get("traffic-checks")
    for traffic, message in (({"blue": 50, "ghost": 50}, "do not exist"), ({"blue": 101}, "between 0 and 100")):
        endpoint.traffic = traffic
        with pytest.raises(HttpResponseError) as err:
            ml.online_endpoints.begin_create_or_update(endpoint).result()
        assert err.value.status_code == 400 and message in str(err.value)
    endpoint.traffic = {"blue": 100}
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    with pytest.raises(HttpResponseError) as err:
        ml.online_deployments.begin_delete("blue", "traffic-checks").result()
    assert err.value.status_code == 400
    ml.online_endpoints.begin_delete("traffic-checks").result()


def test_model_versions_are_immutable_but_archivable(local, ml, model) -> None:
    with pytest.raises(HttpResponseError) as err:
        ml.models.create_or_update(
            Model(name="api-model", version=model.version, path=str(local.model_dir(factor=9)), type="custom_model")
        )
    assert err.value.status_code == 409
    ml.models.create_or_update(Model(name="api-model", version="7", path=str(local.model_dir(factor=7)), type="custom_model"))
    ml.models.archive("api-model", "7")
    assert [m.version for m in ml.models.list("api-model")] == [model.version]
    assert ml.models.get("api-model", "7").stage is None or True  # still readable when archived
    assert (
        ml.models.create_or_update(Model(name="api-model", path=str(local.model_dir(factor=8)), type="custom_model")).version
        == "8"
    )


def test_counters_count_reads_and_writes_and_reset(local, ml, model) -> None:
    local.admin.reset_requests()
    ml.models.get("api-model", model.version)
    list(ml.online_endpoints.list())
    counts = local.admin.requests(kind="arm")
    assert counts["writes"] == 0 and counts["mutations"] == 0 and counts["reads"] >= 2
    _endpoint(ml, "counted")
    counts = local.admin.requests(kind="arm")
    assert counts["writes"] >= 1 and counts["mutations"] >= 1
    put = [r for r in counts["routes"] if r["method"] == "PUT" and r["route"].endswith("onlineEndpoints/{endpoint}")]
    assert put and put[0]["count"] == 1 and put[0]["p50_ms"] is not None
    assert all(e["api_version"] for e in counts["log"])
    local.admin.reset_requests()
    assert local.admin.requests()["reads"] == local.admin.requests()["writes"] == 0
    ml.online_endpoints.begin_delete("counted").result()


def test_throttling_is_retried_by_the_sdk(local, ml, model) -> None:
    local.admin.reset_requests()
    local.admin.add_faults(arm=[{"status": 429, "rate": 0.5, "retry_after": 0.1, "methods": ["GET"]}])
    for _ in range(3):
        assert ml.models.get("api-model", model.version).version == model.version
    statuses = [e["status"] for e in local.admin.requests(kind="arm")["log"]]
    assert statuses == [200, 429, 200, 429, 200]  # every second GET throttled, each retried once


def test_unavailable_answers_are_retried(local, ml, model) -> None:
    local.admin.add_faults(arm=[{"status": 503, "rate": 1.0, "remaining": 1}])
    assert ml.models.get("api-model", model.version).version == model.version
    assert local.admin.faults()["arm"][0]["remaining"] == 0


def test_failed_deployment_fault_and_failing_init(local, ml, model) -> None:
    _endpoint(ml, "failing")
    local.admin.add_faults(fail_next_deployments=1, fail_message="Injected: quota exceeded")
    with pytest.raises(HttpResponseError) as err:
        ml.online_deployments.begin_create_or_update(
            local.deployment("failing", "injected", f"azureml:api-model:{model.version}")
        ).result()
    assert "quota exceeded" in str(err.value)
    assert ml.online_deployments.get("injected", "failing").provisioning_state == "Failed"
    assert "quota exceeded" in ml.online_deployments.get_logs("injected", "failing", lines=20)

    broken = local.code_dir(
        "def init():\n    raise RuntimeError('weights are corrupt')\n\ndef run(raw):\n    return raw\n", name="broken"
    )
    with pytest.raises(HttpResponseError):
        ml.online_deployments.begin_create_or_update(
            local.deployment(
                "failing",
                "broken",
                f"azureml:api-model:{model.version}",
                code_configuration=CodeConfiguration(code=str(broken), scoring_script="score.py"),
            )
        ).result()
    assert ml.online_deployments.get("broken", "failing").provisioning_state == "Failed"
    assert "weights are corrupt" in ml.online_deployments.get_logs("broken", "failing", lines=200)
    ml.online_endpoints.begin_delete("failing").result()


def test_auth_mirror_and_scoring_faults(local, ml, model) -> None:
    _endpoint(ml, "scored")
    for name in ("live", "shadow"):
        ml.online_deployments.begin_create_or_update(
            local.deployment("scored", name, f"azureml:api-model:{model.version}")
        ).result()
    endpoint = ml.online_endpoints.get("scored")
    endpoint.traffic, endpoint.mirror_traffic = {"live": 100}, {"shadow": 20}
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    local.admin.reset_metrics(endpoint="scored")

    request = local.request_file({"data": [1]})
    for _ in range(10):
        assert json.loads(ml.online_endpoints.invoke("scored", request_file=str(request)))["who"] == "live"
    uri = ml.online_endpoints.get("scored").scoring_uri
    keys = ml.online_endpoints.get_keys("scored")
    wrong = requests.post(
        uri, json={"data": [1]}, headers={"Authorization": "Bearer wrong"}, verify=local.conn.ca_bundle, timeout=30
    )
    assert wrong.status_code == 401
    right = requests.post(
        uri,
        json={"data": [1]},
        headers={"Authorization": f"Bearer {keys.secondary_key}"},
        verify=local.conn.ca_bundle,
        timeout=30,
    )
    assert right.status_code == 200 and right.headers["azureml-model-deployment"] == "live"

    local.admin.add_faults(scoring=[{"endpoint": "scored", "deployment": "live", "error_rate": 0.5, "latency_ms": 50}])
    statuses = [
        requests.post(
            uri,
            json={"data": [1]},
            headers={"Authorization": f"Bearer {keys.primary_key}"},
            verify=local.conn.ca_bundle,
            timeout=30,
        ).status_code
        for _ in range(4)
    ]
    assert statuses.count(500) == 2
    metrics = local.admin.metrics("scored")["deployments"]
    assert metrics["live"]["requests"] == 15 and metrics["live"]["errors"] == 2
    assert metrics["live"]["latency_ms"]["max"] >= 50
    for _ in range(50):  # mirror copies are sent in the background
        if local.admin.metrics("scored")["deployments"].get("shadow", {}).get("requests") == 3:
            break
        import time

        time.sleep(0.1)
    shadow = local.admin.metrics("scored")["deployments"]["shadow"]
    assert shadow["requests"] == shadow["mirrored"] == 3  # 20% of 15 live requests
    ml.online_endpoints.begin_delete("scored").result()


def test_aml_token_auth(local, ml, model) -> None:
    _endpoint(ml, "tokened", auth_mode="aml_token")
    ml.online_deployments.begin_create_or_update(
        local.deployment("tokened", "only", f"azureml:api-model:{model.version}")
    ).result()
    request = local.request_file({"data": [4]})
    answer = ml.online_endpoints.invoke("tokened", request_file=str(request), deployment_name="only")
    assert json.loads(answer) == {"y": [8], "who": "only"}
    uri = ml.online_endpoints.get("tokened").scoring_uri
    assert (
        requests.post(
            uri, json={"data": [1]}, headers={"Authorization": "Bearer forged.token"}, verify=local.conn.ca_bundle, timeout=30
        ).status_code
        == 401
    )
    ml.online_endpoints.begin_delete("tokened").result()


def test_serverless_endpoint(local, ml) -> None:
    created = ml.serverless_endpoints.begin_create_or_update(
        ServerlessEndpoint(name="phi3-chat", model_id="azureml://registries/azureml/models/Phi-3-mini-4k-instruct")
    ).result()
    assert created.provisioning_state.lower() == "succeeded"
    assert [e.name for e in ml.serverless_endpoints.list()] == ["phi3-chat"]
    assert ml.serverless_endpoints.get_keys("phi3-chat").primary_key
    ml.serverless_endpoints.begin_delete("phi3-chat").result()
    with pytest.raises(ResourceNotFoundError):
        ml.serverless_endpoints.get("phi3-chat")


def test_workspaces_are_separate(local) -> None:
    dev, staging = local.client("dev"), local.client("staging")
    dev.models.create_or_update(Model(name="only-in-dev", path=str(local.model_dir()), type="custom_model"))
    assert [m.name for m in dev.models.list()] == ["only-in-dev"]
    assert list(staging.models.list()) == []
    assert local.admin.create_workspace("prod")["name"] == "prod"


def test_bodies_are_checked_against_the_rest_api_spec_and_change_nothing(local) -> None:
    auth = {"Authorization": f"Bearer {local.conn.token}"}
    for path, body, target in (
        (
            "/onlineEndpoints/spec-checked",
            {"location": "local", "properties": {"authMode": "Key", "trafic": {}}},
            "properties.trafic",
        ),
        ("/onlineEndpoints/spec-checked", {"location": "local", "properties": {"authMode": "Password"}}, "properties.authMode"),
        ("/models/spec-checked/versions/1", {"properties": {"modelUri": "x", "flavors": []}}, "properties.flavors"),
        ("/serverlessEndpoints/spec-checked", {"sku": {"name": "Consumption"}, "colour": "blue"}, "colour"),
    ):
        resp = _arm(local, "PUT", path, headers=auth, json=body)
        error = resp.json()["error"]
        assert resp.status_code == 400 and error["code"] == "InvalidRequestContent", resp.text
        assert f"Path '{target}'" in error["message"] and [d["target"] for d in error["details"]] == [target]
        assert _arm(local, "GET", path, headers=auth).status_code == 404
    secrets = _arm(local, "POST", "/datastores/workspaceblobstore/listSecrets", headers=auth, json={"expirableSecret": "maybe"})
    assert secrets.status_code == 400 and "Path 'expirableSecret'" in secrets.json()["error"]["message"]


def test_every_property_accepted_is_kept_and_returned(local, ml) -> None:
    auth = {"Authorization": f"Bearer {local.conn.token}"}
    body = {
        "location": "local",
        "tags": {"team": "risk"},
        "identity": {"type": "SystemAssigned", "principalId": "ignored: read-only"},
        "sku": {"name": "Basic", "tier": "Basic"},
        "properties": {
            "description": "kept",
            "publicNetworkAccess": "Disabled",
            "allowPublicAccessWhenBehindVnet": True,
            "imageBuildCompute": "cpu-cluster",
            "workspaceId": "ignored: read-only",
        },
    }
    assert _arm(local, "PUT", "", headers=auth, json=body).status_code == 200
    got = _arm(local, "GET", "", headers=auth).json()
    assert got["tags"] == {"team": "risk"} and got["properties"]["description"] == "kept"
    assert got["properties"]["publicNetworkAccess"] == "Disabled" and got["properties"]["allowPublicAccessWhenBehindVnet"]
    assert got["properties"]["imageBuildCompute"] == "cpu-cluster"
    assert got["properties"]["workspaceId"] != "ignored: read-only" and got["identity"]["principalId"] != "ignored: read-only"
    assert _arm(local, "PUT", "", headers=auth, json={"location": "local", "properties": {"publicNetworkAccess": "Enabled"}})

    endpoint = ManagedOnlineEndpoint(
        name="kept", auth_mode="key", public_network_access="disabled", description="d", properties={"p": "1"}
    )
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    rest = _arm(local, "GET", "/onlineEndpoints/kept", headers=auth).json()
    assert rest["properties"]["publicNetworkAccess"] == "Disabled" and rest["properties"]["properties"] == {"p": "1"}
    got = ml.online_endpoints.get("kept")
    assert got.public_network_access.lower() == "disabled" and got.description == "d"
    ml.online_endpoints.begin_delete("kept").result()

    serverless = {
        "location": "local",
        "kind": "ModelAsAService",
        "identity": {"type": "SystemAssigned"},
        "sku": {"name": "Consumption"},
        "properties": {"authMode": "Key", "modelSettings": {"modelId": "azureml://registries/azureml/models/phi/versions/1"}},
    }
    assert _arm(local, "PUT", "/serverlessEndpoints/kept-too", headers=auth, json=serverless).status_code in (200, 201)
    got = _arm(local, "GET", "/serverlessEndpoints/kept-too", headers=auth).json()
    assert got["kind"] == "ModelAsAService" and got["identity"]["type"] == "SystemAssigned"
    assert _arm(local, "DELETE", "/serverlessEndpoints/kept-too", headers=auth).status_code == 204
