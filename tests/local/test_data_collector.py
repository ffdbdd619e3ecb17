"""Data collection without a server: a deployment file's `data_collector` in the REST body azure-ai-ml builds,
checked and kept by the plane's spec rules; the collector a scoring script posts to, and the rows it writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
from azure.ai.ml import load_online_deployment
from azure.ai.ml._restclient.arm_ml_service.models import DataCollector as RestDataCollector
from azure.ai.ml.entities import DataCollector
from azure.ai.ml.entities._deployment.online_deployment import OnlineDeployment
from sample_support import REPO

from amlops.local.arm import spec
from amlops.local.datacollector import Collection, CollectionSpec, Receiver, Sink, event

SOURCE = (
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/e/deployments/d"
)
DATA_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/data/{}/versions/1"

#: The forms Microsoft documents (how-to-collect-production-data; azureml-examples' data-collector folder):
#: custom logging, payload logging with rolling and sampling rates, a data asset of one's own, header capture.
DOCUMENTED = {
    "custom": "data_collector:\n  collections:\n    model_inputs:\n      enabled: 'True'\n    model_outputs:\n      enabled: 'True'\n",
    "payload": (
        "data_collector:\n  collections:\n    request:\n      enabled: 'True'\n    response:\n      enabled: 'False'\n"
        "  rolling_rate: day\n  sampling_rate: 0.25\n"
    ),
    "own-asset": (
        "data_collector:\n  collections:\n    model_inputs:\n      enabled: 'True'\n      data:\n        name: my_inputs\n"
        "        path: azureml://datastores/workspaceblobstore/paths/modelDataCollector/e/d/model_inputs\n"
        "        version: '2'\n  rolling_rate: minute\n  request_logging:\n    capture_headers: [x-client, x-tenant]\n"
    ),
}
BASE = "name: blue\nendpoint_name: e\nmodel: azureml:m:1\ninstance_type: Standard_DS3_v2\ninstance_count: 1\n"


def _files(tmp_path: Path) -> list[Path]:
    """The documented forms as deployment files, and the sample's own deployment files that collect."""
    written = []
    for name, block in DOCUMENTED.items():
        written.append(tmp_path / f"{name}.yml")
        written[-1].write_text(BASE + block)
    return written + [REPO / "endpoints/churn/main.yml", REPO / "endpoints/credit-risk/main.yml"]


def _sent(path: Path) -> tuple[OnlineDeployment, dict]:
    """The deployment and the `dataCollector` of the body azure-ai-ml sends for it (after it registered each
    collection's data asset and put its id in `data`, as OnlineDeploymentOperations does first)."""
    deployment = load_online_deployment(path, params_override=[{"endpoint_name": "e"}])
    for name, collection in deployment.data_collector.collections.items():
        collection.data = DATA_ID.format(getattr(collection.data, "name", None) or f"e-d-{name}")
    body = deployment._to_rest_object(location="local").as_dict()
    return load_online_deployment(path, params_override=[{"endpoint_name": "e"}]), body


@pytest.mark.parametrize("index", range(len(DOCUMENTED) + 2))
def test_every_field_of_a_files_data_collector_reaches_the_body_and_the_plane_keeps_it(tmp_path: Path, index: int):
    path = _files(tmp_path)[index]
    declared, body = _sent(path)
    sent = body["properties"]["dataCollector"]
    file = declared.data_collector
    assert set(sent["collections"]) == set(file.collections)
    for name, collection in file.collections.items():
        assert sent["collections"][name]["dataCollectionMode"] == (
            "enabled" if collection.enabled.lower() == "true" else "disabled"
        )
        assert sent["collections"][name].get("samplingRate") == file.sampling_rate
        assert sent["collections"][name]["dataId"].endswith(
            f"/data/{getattr(collection.data, 'name', None) or f'e-d-{name}'}/versions/1"
        )
    assert sent.get("rollingRate") == file.rolling_rate
    assert sent.get("requestLogging", {}).get("captureHeaders") == (
        file.request_logging.capture_headers if file.request_logging else None
    )
    assert spec.validate(body, "OnlineDeployment") == []
    kept = spec.writable(body, "OnlineDeployment")["properties"]["dataCollector"]
    assert json.dumps(kept).lower() == json.dumps(sent).lower()  # whole; enums in the spec's spelling
    back = DataCollector._from_rest_object(RestDataCollector(kept))  # what a GET gives the SDK
    assert {n: c.enabled for n, c in back.collections.items()} == {n: c.enabled.lower() for n, c in file.collections.items()}
    assert back.sampling_rate == file.sampling_rate and (back.rolling_rate or "").lower() == (file.rolling_rate or "")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"dataCollectionMode": "Sometimes"}, "properties.dataCollector.collections.model_inputs.dataCollectionMode"),
        ({"colour": "red"}, "properties.dataCollector.collections.model_inputs.colour"),
        ({"samplingRate": "half"}, "properties.dataCollector.collections.model_inputs.samplingRate"),
    ],
)
def test_the_plane_refuses_bad_collections_naming_their_path(change: dict, path: str):
    body = {"properties": {"dataCollector": {"collections": {"model_inputs": {"dataCollectionMode": "Enabled", **change}}}}}
    assert [e.path for e in spec.validate(body, "OnlineDeployment")] == [path]


def test_the_plane_refuses_an_unknown_rolling_rate():
    body = {"properties": {"dataCollector": {"collections": {}, "rollingRate": "Fortnight"}}}
    assert [e.path for e in spec.validate(body, "OnlineDeployment")] == ["properties.dataCollector.rollingRate"]


def _collector(tmp_path: Path, rolling: str = "Hour") -> Sink:
    spec_ = CollectionSpec(
        SOURCE, (Collection("model_inputs", tmp_path / "inputs"), Collection("request", tmp_path / "req")), rolling
    )
    return Sink(spec_)


#: What azureml-ai-monitoring 1.0.0's MdcSender sends for `Collector(name="model_inputs").collect(frame)`.
HEADERS = {
    "Content-Type": "application/json",
    "trace-id": "5b1d6c36-4f0a-4a55-9a9a-3c1f2f3b9e01",
    "ce-time": "1764640800",  # 2025-12-02T02:00:00Z
    "ce-type": "azureml.inference.model_inputs",
    "ce-collect-data-type": "pandas.core.frame.DataFrame",
    "ce-agent": "azureml-ai-monitoring/1.0.0",
    "ce-x-request-id": "0d5c1f7e-2c4b-4e0b-8f57-0c1b5a7d9e33",
    "ce-model-version": "default",
}


def test_the_collector_writes_a_collectors_post_as_azures_row_under_the_rolled_folder(tmp_path: Path):
    sink = _collector(tmp_path)
    receiver = Receiver(sink)
    try:
        body = '[{"a":1,"b":2.5}]'
        answer = requests.post(f"http://127.0.0.1:{receiver.port}/modeldata/log", data=body, headers=HEADERS, timeout=5)
        assert answer.status_code == 200
        other = requests.post(
            f"http://127.0.0.1:{receiver.port}/modeldata/log",
            data=body,
            headers={**HEADERS, "ce-type": "azureml.inference.model_outputs"},
            timeout=5,
        )
        assert other.status_code == 400  # not enabled on this deployment: nothing written
        payload = requests.post(
            f"http://127.0.0.1:{receiver.port}/modeldata/log",
            data=body,
            headers={**HEADERS, "ce-type": "azureml.inference.request"},
            timeout=5,
        )
        assert payload.status_code == 400  # request and response are the collector's own, not a script's
    finally:
        receiver.close()
    files = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.jsonl")]
    assert files == [f"inputs/2025/12/02/02/{sink.instance}.jsonl"]
    (row,) = [json.loads(line) for line in (tmp_path / files[0]).read_text().splitlines()]
    assert row == {
        "specversion": "1.0",
        "id": HEADERS["trace-id"],
        "source": SOURCE,
        "type": "azureml.inference.model_inputs",
        "datacontenttype": "application/json",
        "time": "2025-12-02T02:00:00Z",
        "data": [{"a": 1, "b": 2.5}],
        "modelversion": "default",
        "collectdatatype": "pandas.core.frame.DataFrame",
        "agent": "azureml-ai-monitoring/1.0.0",
        "contentrange": f"bytes 0-{len(body) - 1}/{len(body)}",
        "correlationid": HEADERS["ce-x-request-id"],
        "xrequestid": HEADERS["ce-x-request-id"],
    }


@pytest.mark.parametrize(
    ("rolling", "folders"), [("Minute", r"2025/12/02/02/00"), ("Day", r"2025/12/02"), ("Month", r"2025/12"), ("Year", r"2025")]
)
def test_rows_roll_into_the_folders_the_rolling_rate_names(tmp_path: Path, rolling: str, folders: str):
    sink = _collector(tmp_path, rolling)
    path = sink.write("request", event(SOURCE, "request", b"{}", "application/json", "id", at=1764640800))
    assert path is not None and re.fullmatch(f"req/{folders}/{sink.instance}.jsonl", path.relative_to(tmp_path).as_posix())


def test_the_config_file_enables_what_azureml_ai_monitoring_reads():
    collections = (Collection("model_inputs", Path("/x"), 0.5), Collection("request", Path("/y")))
    config = CollectionSpec(SOURCE, collections).mdc_config()
    assert config == {
        "runMode": "cloud",
        "collections": {
            "model_inputs": {"enabled": True, "sampleRatePercentage": 50},
            "request": {"enabled": True, "sampleRatePercentage": 100},
        },
    }
