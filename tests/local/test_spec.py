"""The request-body check against the vendored REST API specification, on its own (no server)."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
from azure.ai.ml.entities import (
    CodeConfiguration,
    KubernetesOnlineDeployment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    OnlineRequestSettings,
    ProbeSettings,
    TargetUtilizationScaleSettings,
)

from amlops.local.arm import spec
from amlops.local.web import ArmError

ENDPOINT = {"location": "local", "properties": {"authMode": "Key", "traffic": {"blue": 100}}}


def _paths(body: object, definition: str) -> list[str]:
    return [e.path for e in spec.validate(body, definition)]


def test_the_vendored_spec_names_its_source_version_and_licence() -> None:
    doc = json.loads(files("amlops.local.arm").joinpath(spec.SPEC_FILE).read_text())
    assert doc["apiVersion"] == "2025-12-01" and "azure-rest-api-specs" in doc["source"]
    assert doc["licence"].startswith("MIT") and len(doc["commit"]) == 40


def test_bodies_the_sdk_builds_are_valid() -> None:
    endpoint = ManagedOnlineEndpoint(
        name="scored", auth_mode="aml_token", public_network_access="disabled", description="d", tags={"a": "b"}
    )
    assert spec.validate(endpoint._to_rest_online_endpoint("local").as_dict(), "OnlineEndpoint") == []
    managed = ManagedOnlineDeployment(
        name="blue",
        endpoint_name="scored",
        model="azureml:m:1",
        environment="azureml:env:1",
        code_configuration=CodeConfiguration(code="azureml:code:1", scoring_script="score.py"),
        instance_type="Standard_DS3_v2",
        instance_count=2,
        request_settings=OnlineRequestSettings(request_timeout_ms=3000, max_concurrent_requests_per_instance=2),
        liveness_probe=ProbeSettings(initial_delay=10, period=5),
        environment_variables={"A": "1"},
        egress_public_network_access="disabled",
    )
    kubernetes = KubernetesOnlineDeployment(
        name="kube",
        endpoint_name="scored",
        model="azureml:m:1",
        environment="azureml:env:1",
        code_configuration=CodeConfiguration(code="azureml:code:1", scoring_script="score.py"),
        instance_count=1,
        scale_settings=TargetUtilizationScaleSettings(min_instances=1, max_instances=3),
    )
    for deployment in (managed, kubernetes):
        rest = deployment._to_rest_object("local").as_dict()
        assert spec.validate(rest, "OnlineDeployment") == [], deployment.name


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"trafic": {"blue": 100}}, "properties.trafic"),  # unknown property
        ({"traffic": {"blue": "half"}}, "properties.traffic.blue"),  # wrong type
        ({"traffic": {"blue": 50.5}}, "properties.traffic.blue"),
        ({"traffic": {"blue": {"weight": 100}}}, "properties.traffic.blue"),
        ({"traffic": [100]}, "properties.traffic"),
        ({"description": {"text": "d"}}, "properties.description"),
        ({"authMode": "Password"}, "properties.authMode"),  # not in the enum
        ({"publicNetworkAccess": True}, "properties.publicNetworkAccess"),
    ],
)
def test_unknown_properties_wrong_types_and_bad_enums_name_their_path(change: dict, path: str) -> None:
    body = {**ENDPOINT, "properties": {**ENDPOINT["properties"], **change}}
    assert _paths(body, "OnlineEndpoint") == [path]


def test_primitives_convert_as_json_net_converts_them() -> None:
    body = {"tags": {"n": 3}, "properties": {"authMode": "key", "traffic": {"blue": "100", "green": 0.0}}}
    assert spec.validate(body, "OnlineEndpoint") == []
    assert spec.check(body, "OnlineEndpoint") == {
        "tags": {"n": "3"},
        "properties": {"authMode": "Key", "traffic": {"blue": 100, "green": 0}},
    }


def test_every_problem_is_reported_and_nested_definitions_are_followed() -> None:
    body = {
        "sku": {"name": "Default", "capacity": "two"},
        "colour": "blue",
        "properties": {
            "endpointComputeType": "Managed",
            "requestSettings": {"requestTimeout": "PT5S", "maxQueueLength": 3},
            "livenessProbe": {"periodSeconds": 3},
        },
    }
    assert _paths(body, "OnlineDeployment") == [
        "sku.capacity",
        "colour",
        "properties.requestSettings.maxQueueLength",
        "properties.livenessProbe.periodSeconds",
    ]


def test_discriminators_pick_the_subtype_and_refuse_unknown_kinds() -> None:
    managed_only = {"properties": {"endpointComputeType": "Managed", "scaleSettings": {"scaleType": "Default"}}}
    assert _paths(managed_only, "OnlineDeployment") == []
    kubernetes_field = {"properties": {"endpointComputeType": "Managed", "containerResourceRequirements": {}}}
    assert _paths(kubernetes_field, "OnlineDeployment") == ["properties.containerResourceRequirements"]
    assert (
        _paths({"properties": {"endpointComputeType": "Kubernetes", "containerResourceRequirements": {}}}, "OnlineDeployment")
        == []
    )
    assert _paths({"properties": {"endpointComputeType": "Serverless"}}, "OnlineDeployment") == ["properties.endpointComputeType"]


def test_read_only_properties_are_accepted_and_ignored() -> None:
    body = {
        "id": "/x",
        "systemData": {"createdBy": "someone"},
        "properties": {"authMode": "Key", "scoringUri": "https://elsewhere/score", "provisioningState": "Succeeded"},
    }
    assert spec.validate(body, "OnlineEndpoint") == []
    assert spec.check(body, "OnlineEndpoint") == {"properties": {"authMode": "Key"}}


def test_check_answers_with_arms_error_shape() -> None:
    with pytest.raises(ArmError) as err:
        spec.check({"properties": {"authMode": "Key", "trafic": {}}}, "OnlineEndpoint")
    error = err.value.response().body.decode()
    assert err.value.status == 400 and err.value.code == "InvalidRequestContent"
    assert "Could not find member 'trafic'" in err.value.message and "Path 'properties.trafic'" in err.value.message
    assert '"target": "properties.trafic"' in error


def test_the_vendored_definitions_are_what_the_vendor_command_writes() -> None:
    """A hand edit, or an azure-ai-ml whose model of the api-version moved, shows here: rerun
    `python -m amlops.local.arm.vendor` and review the diff."""
    from amlops.local.arm import vendor

    doc = json.loads(files("amlops.local.arm").joinpath(spec.SPEC_FILE).read_text())
    assert vendor.build(doc["roots"]) == doc["definitions"]
    assert "datasets" not in doc["definitions"]["ModelVersionProperties"]["properties"]
