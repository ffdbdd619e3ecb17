"""The mocks refuse what the provider and Azure refuse: schema violations, wrong endpoints, wrong DNS."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest
from infra_support import stack

from amlops.infraplan import private_dns
from amlops.infraplan.inventory import Inventory, ProgramError, evaluate
from amlops.infraplan.schema import SchemaError, check_resource

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"


def refused(type_token: str, inputs: dict) -> str:
    with pytest.raises(SchemaError) as caught:
        check_resource(type_token, inputs)
    return str(caught.value)


def test_unknown_properties_are_refused_at_any_depth() -> None:
    assert "publicNetworkAcces: unknown property" in refused(WORKSPACE, {"resourceGroupName": "g", "publicNetworkAcces": "x"})
    message = refused(WORKSPACE, {"resourceGroupName": "g", "managedNetwork": {"isolationMode": "Disabled", "firewall": "x"}})
    assert "managedNetwork.firewall: unknown property (not in ManagedNetworkSettingsArgs)" in message


def test_enum_values_come_from_the_installed_provider() -> None:
    from pulumi_azure_native.machinelearningservices import IsolationMode

    message = refused(WORKSPACE, {"resourceGroupName": "g", "managedNetwork": {"isolationMode": "AllowOnlyAprovedOutbound"}})
    assert f"is not one of {sorted(m.value for m in IsolationMode)}" in message
    check_resource(WORKSPACE, {"resourceGroupName": "g", "managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}})


def test_required_properties_and_types_are_checked() -> None:
    assert "resourceGroupName: required by WorkspaceArgs" in refused(WORKSPACE, {})
    aml = {"computeType": "AmlCompute", "properties": {"scaleSettings": {"maxNodeCount": 2.5}}}
    assert "maxNodeCount: expected int, got 2.5" in refused(
        COMPUTE, {"resourceGroupName": "g", "workspaceName": "w", "properties": aml}
    )
    aml["properties"]["scaleSettings"]["maxNodeCount"] = 2.0  # the engine hands integers over as floats
    check_resource(COMPUTE, {"resourceGroupName": "g", "workspaceName": "w", "properties": aml})


def test_a_discriminated_union_reports_the_shape_that_was_meant() -> None:
    aml = {"computeType": "AmlCompute", "properties": {"vmPriority": "Spot"}}
    message = refused(COMPUTE, {"resourceGroupName": "g", "workspaceName": "w", "properties": aml})
    assert "properties.properties.vmPriority: 'Spot' is not one of ['Dedicated', 'LowPriority']" in message


def test_the_program_is_held_to_the_schema(repo: Path) -> None:
    path = repo / "infra" / "workspace.py"
    path.write_text(path.read_text().replace('"Standard_ZRS" if private', '"Standard_ZR5" if private'))
    with pytest.raises(ProgramError, match="sku.name: 'Standard_ZR5' is not one of"):
        evaluate(repo, "prod")


def _with_endpoint(inv: Inventory, change) -> Inventory:
    resources = []
    for r in inv.resources:
        if r.type == private_dns.ENDPOINT and r.name.endswith("-blob"):
            inputs = copy.deepcopy(r.inputs)
            change(inputs)
            r = replace(r, inputs=inputs)
        resources.append(r)
    return replace(inv, resources=resources)


def test_private_endpoints_are_checked_against_microsofts_table() -> None:
    private_dns.check(stack("prod"))
    wrong_group = _with_endpoint(stack("prod"), lambda i: i["privateLinkServiceConnections"][0].update(groupIds=["blobs"]))
    with pytest.raises(private_dns.PrivateEndpointError, match=r"offers group ids \['blob', 'dfs'.*not 'blobs'"):
        private_dns.check(wrong_group)


def test_an_endpoint_registered_in_the_wrong_zone_is_refused(repo: Path) -> None:
    path = repo / "infra" / "network.py"
    path.write_text(
        path.read_text().replace('"blob": ["privatelink.blob.core.windows.net"]', '"blob": ["privatelink.file.core.windows.net"]')
    )
    with pytest.raises(ProgramError, match=r"\(blob\) is registered in DNS zones \['privatelink.file.core.windows.net'\]"):
        evaluate(repo, "prod")


def test_a_misspelt_zone_is_refused(repo: Path) -> None:
    path = repo / "infra" / "network.py"
    path.write_text(path.read_text().replace('"privatelink.notebooks.azure.net"]', '"privatelink.notebook.azure.net"]'))
    with pytest.raises(ProgramError, match="privatelink.notebook.azure.net"):
        evaluate(repo, "staging")
