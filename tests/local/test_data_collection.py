"""Model data collection on the local control plane, through the real SDK and azureml-ai-monitoring: the churn
sample's Collector rows, an MLflow deployment's rows the plane logs itself, read back from the datastore."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
import requests
from azure.ai.ml._artifacts._artifact_utilities import download_artifact_from_aml_uri
from plane_support import Plane, commit, make_repo

pytestmark = pytest.mark.slow

LAYOUT = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}/[0-9a-f-]{36}\.jsonl$")  # rolling_rate hour, the default
BY_MINUTE = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}/\d{2}/[0-9a-f-]{36}\.jsonl$")
ROW_KEYS = {
    "specversion",
    "id",
    "source",
    "type",
    "datacontenttype",
    "time",
    "data",
    "contentrange",
    "correlationid",
    "xrequestid",
}


def rows(plane: Plane, asset: str, version: str, tmp: Path) -> list[tuple[str, dict]]:
    """(path under the asset's folder, row) of every JSONL row of a data asset, as the SDK downloads them."""
    client = plane.client()
    data = client.data.get(asset, version=version)
    target = tmp / asset
    shutil.rmtree(target, ignore_errors=True)
    download_artifact_from_aml_uri(data.path, str(target), client.datastores)
    return [
        (file.relative_to(target).as_posix(), json.loads(line))
        for file in sorted(target.rglob("*.jsonl"))
        for line in file.read_text().splitlines()
    ]


def until(read, done, timeout: float = 30.0):
    """`read()` again until `done(result)`: the collector posts from a worker thread, after the answer."""
    deadline = time.monotonic() + timeout
    while True:
        result = read()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


def test_the_churn_sample_collects_its_inputs_and_outputs_correlated(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    deployment = plane.session(root).release.endpoints["churn"].deployments["main"].azure_name
    client = plane.client()
    sent = 7
    for i in range(sent):
        body = tmp_path / "req.json"
        body.write_text(json.dumps({"data": [[1000.0 + i, 1.0, 2.0]]}))
        client.online_endpoints.invoke(endpoint_name="churn", request_file=str(body))

    def ours(name: str):
        return [
            (p, r)
            for p, r in rows(plane, f"churn-{deployment}-{name}", "1", tmp_path)
            if _tenure(r) >= 1000 or name == "model_outputs"
        ]

    inputs = until(lambda: ours("model_inputs"), lambda found: len(found) >= sent)
    assert len(inputs) == sent
    outputs = until(
        lambda: ours("model_outputs"),
        lambda found: len({r["correlationid"] for _, r in found} & {r["correlationid"] for _, r in inputs}) >= sent,
    )
    by_correlation = {r["correlationid"]: r for _, r in outputs}
    ws = client.workspaces.get("local")
    for path, row in inputs:
        assert LAYOUT.match(path), path
        assert set(row) >= ROW_KEYS and row["specversion"] == "1.0" and row["type"] == "azureml.inference.model_inputs"
        assert row["source"].lower() == f"{ws.id}/onlineEndpoints/churn/deployments/{deployment}".lower()
        assert row["collectdatatype"].endswith("DataFrame") and row["agent"].startswith("azureml-ai-monitoring/")
        assert set(row["data"][0]) == {"tenure_months", "monthly_charges", "support_calls"}
        answer = by_correlation[row["correlationid"]]
        assert answer["type"] == "azureml.inference.model_outputs" and set(answer["data"][0]) == {"probability"}
        assert row["xrequestid"] == row["correlationid"]
    assert len({r["correlationid"] for _, r in inputs}) == sent
    kept = client.online_deployments.get(deployment, "churn").data_collector  # the file's, as the plane keeps it
    assert {n: c.enabled for n, c in kept.collections.items()} == {"model_inputs": "true", "model_outputs": "true"}
    assert kept.collections["model_inputs"].data.endswith(f"/data/churn-{deployment}-model_inputs/versions/1")


def _tenure(row: dict) -> float:
    data = row.get("data") or [{}]
    return float(data[0].get("tenure_months", 0)) if isinstance(data[0], dict) else 0.0


def test_an_mlflow_deployment_has_its_payloads_and_model_data_collected_by_the_plane(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path, ("credit-risk",))
    file = root / "endpoints/credit-risk/main.yml"
    text = file.read_text().replace(
        "    model_inputs:\n      enabled: 'True'\n",
        "    model_inputs:\n      enabled: 'True'\n      data:\n        name: credit-risk-inputs\n"
        "        path: azureml://datastores/workspaceblobstore/paths/collected/credit-risk/inputs\n        version: '3'\n",
    )
    file.write_text(text + "  rolling_rate: minute\n  sampling_rate: 1.0\n  request_logging:\n    capture_headers: [x-client]\n")
    commit(root, "collect by the minute, inputs to a data asset of their own")
    assert plane.apply(root).ok
    deployment = plane.session(root).release.endpoints["credit-risk"].deployments["main"].azure_name
    client = plane.client()
    endpoint = client.online_endpoints.get("credit-risk")
    key = client.online_endpoints.get_keys("credit-risk").primary_key
    sent, ids = 5, set()
    for i in range(sent):
        body = {"input_data": {"columns": ["income", "debt_ratio", "age", "late_payments"], "data": [[500.0 + i, 0.1, 0.2, 0.0]]}}
        answer = requests.post(
            endpoint.scoring_uri,
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            verify=plane.admin.conn.ca_bundle,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        ids.add(answer.headers["x-request-id"])

    def ours(name: str) -> dict[str, tuple[str, dict]]:
        asset = ("credit-risk-inputs", "3") if name == "model_inputs" else (f"credit-risk-{deployment}-{name}", "1")
        return {r["correlationid"]: (p, r) for p, r in rows(plane, *asset, tmp_path) if r["correlationid"] in ids}

    collected = {
        name: until(lambda name=name: ours(name), lambda found: len(found) >= sent)
        for name in ("request", "response", "model_inputs", "model_outputs")
    }
    for name, found in collected.items():
        assert set(found) == ids, name
        for path, row in found.values():
            assert BY_MINUTE.match(path) and set(row) >= ROW_KEYS and row["type"] == f"azureml.inference.{name}"
    for rid in ids:
        request, response = collected["request"][rid][1], collected["response"][rid][1]
        assert request["path"] == "/score" and request["method"] == "POST" and request["data"]["input_data"]["data"][0][0] >= 500
        assert response["data"] == [out["prediction"] for out in collected["model_outputs"][rid][1]["data"]]
        assert set(collected["model_inputs"][rid][1]["data"][0]) == {"income", "debt_ratio", "age", "late_payments"}
    kept = client.online_deployments.get(deployment, "credit-risk").data_collector
    assert (kept.rolling_rate, kept.sampling_rate, kept.request_logging.capture_headers) == ("Minute", 1.0, ["x-client"])
    assert set(kept.collections) == {"model_inputs", "model_outputs", "request", "response"}
    assert kept.collections["model_inputs"].data.endswith("/data/credit-risk-inputs/versions/3")
    assert client.data.get("credit-risk-inputs", version="3").path.endswith("/paths/collected/credit-risk/inputs")

    # A REST client that sends collections without data assets gets Azure's default ones; bad values are refused.
    arm = f"{plane.admin.conn.resource_manager.rstrip('/')}{ws_id(client)}/onlineEndpoints/credit-risk/deployments"
    auth = {"Authorization": f"Bearer {plane.admin.conn.token}"}

    def put(name: str, collector: dict) -> requests.Response:
        body = requests.get(f"{arm}/{deployment}", headers=auth, params=API, verify=plane.admin.conn.ca_bundle, timeout=30).json()
        body["properties"].pop("failureReason", None)  # the plane's own note, which its spec check refuses back
        body["properties"]["dataCollector"] = collector
        return requests.put(f"{arm}/{name}", json=body, headers=auth, params=API, verify=plane.admin.conn.ca_bundle, timeout=30)

    refused = put("raw-bad", {"collections": {"request": {"dataCollectionMode": "Enabled"}}, "rollingRate": "Weekly"})
    assert (
        refused.status_code == 400 and refused.json()["error"]["details"][0]["target"] == "properties.dataCollector.rollingRate"
    )
    accepted = put("raw", {"collections": {"request": {"dataCollectionMode": "Enabled"}}})
    assert accepted.status_code in (200, 201), accepted.text
    raw = until(lambda: client.online_deployments.get("raw", "credit-risk"), lambda d: d.provisioning_state != "Creating", 120)
    assert raw.data_collector.collections["request"].data.endswith("/data/credit-risk-raw-request/versions/1")
    path = client.data.get("credit-risk-raw-request", version="1").path
    assert path.endswith("/paths/modelDataCollector/credit-risk/raw/request")
    assert [d.name for d in client.online_deployments.list("credit-risk")].count("raw-bad") == 0


API = {"api-version": "2024-04-01"}


def ws_id(client) -> str:
    return client.workspaces.get(client.workspace_name).id
