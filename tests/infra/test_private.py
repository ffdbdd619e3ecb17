"""Private environments end to end: reachable, provisioned, able to build images, protected."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_support import ROOT, edit_environment, stack

from amlops.infraplan.inventory import ProgramError, evaluate

ML = "azure-native:machinelearningservices"
WORKSPACE, COMPUTE, ML_REGISTRY = f"{ML}:Workspace", f"{ML}:Compute", f"{ML}:Registry"
STORAGE, VAULT = "azure-native:storage:StorageAccount", "azure-native:keyvault:Vault"
ACR = "azure-native:containerregistry:Registry"
LOCK = "azure-native:authorization:ManagementLockByScope"
STATEFUL = (WORKSPACE, STORAGE, VAULT, ACR)


@pytest.mark.parametrize(("env", "space"), [("staging", "10.41.0.0/24"), ("prod", "10.42.0.0/24")])
def test_private_environments_are_reachable(env: str, space: str) -> None:
    """The access network the manifest declares holds the workspace's and storage's endpoints, and the runners."""
    inv = stack(env)
    (vnet,) = inv.of_type("azure-native:network:VirtualNetwork")
    assert vnet.inputs["addressSpace"]["addressPrefixes"] == [space]
    subnets = {s.azure_name: s for s in inv.of_type("azure-native:network:Subnet")}
    assert set(subnets) == {"runners", "private-endpoints"}
    assert inv.outputs["runner_subnet_id"] == subnets["runners"].id
    endpoints = {
        e.inputs["privateLinkServiceConnections"][0]["groupIds"][0]: e
        for e in inv.of_type("azure-native:network:PrivateEndpoint")
    }
    assert {g: e.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] for g, e in endpoints.items()} == {
        "amlworkspace": inv.one(WORKSPACE).id,
        "blob": inv.one(STORAGE).id,
        "file": inv.one(STORAGE).id,
    }
    assert all(e.inputs["subnet"]["id"] == subnets["private-endpoints"].id for e in endpoints.values())
    zones = {z.id: z.azure_name for z in inv.of_type("azure-native:privatedns:PrivateZone")}
    groups = {g.inputs["privateEndpointName"]: g for g in inv.of_type("azure-native:network:PrivateDnsZoneGroup")}
    workspace_zones = {
        zones[c["privateDnsZoneId"]] for c in groups[endpoints["amlworkspace"].azure_name].inputs["privateDnsZoneConfigs"]
    }
    assert workspace_zones == {"privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"}
    links = inv.of_type("azure-native:privatedns:VirtualNetworkLink")
    assert {link.inputs["privateZoneName"] for link in links} == set(zones.values()) and all(
        link.inputs["virtualNetwork"]["id"] == vnet.id for link in links
    )


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_the_managed_network_is_provisioned_and_images_build_on_a_named_cluster(env: str) -> None:
    inv = stack(env)
    workspace = inv.one(WORKSPACE).inputs
    assert workspace["provisionNetworkNow"] is True
    clusters = {c.name.split("-")[0]: c.azure_name for c in inv.of_type(COMPUTE)}
    assert workspace["imageBuildCompute"] == clusters["cpu"]


def test_a_public_workspace_builds_images_on_azure_and_has_no_managed_network() -> None:
    workspace = stack("dev").one(WORKSPACE).inputs
    assert "imageBuildCompute" not in workspace and "provisionNetworkNow" not in workspace


def test_prods_outbound_rules_cover_what_image_builds_and_deployments_fetch() -> None:
    rules = stack("prod").one(WORKSPACE).inputs["managedNetwork"]["outboundRules"].values()
    fqdns = {r["destination"] for r in rules if r["type"] == "FQDN"}
    # pip (PyPI and its file host) and conda (Anaconda's repository and conda.anaconda.org channels)
    assert fqdns >= {"pypi.org", "files.pythonhosted.org", "*.anaconda.com", "*.anaconda.org"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["infrastructure"].pop("image_build_cluster"), "needs image_build_cluster"),
        (lambda d: d["infrastructure"].update(image_build_cluster="tpu"), "'tpu' is not one of the clusters"),
        (lambda d: d["infrastructure"]["network"].pop("inbound"), "managed mode needs inbound"),
    ],
    ids=["no-build-cluster", "unknown-build-cluster", "no-inbound-network"],
)
def test_a_private_environment_must_say_how_it_builds_and_who_reaches_it(repo: Path, change, message: str) -> None:
    edit_environment(repo, "staging", change)
    with pytest.raises(ProgramError, match=message):
        evaluate(repo, "staging")


def test_prods_stateful_resources_are_protected_and_locked() -> None:
    inv = stack("prod")
    locks = {lock.parent: lock.inputs for lock in inv.of_type(LOCK)}
    for kind in STATEFUL:
        resource = inv.one(kind)
        assert resource.protect, kind
        assert locks[resource.urn]["level"] == "CanNotDelete" and locks[resource.urn]["scope"] == resource.id
    assert len(locks) == len(STATEFUL)


def test_other_environments_are_not_locked_and_the_shared_registry_is() -> None:
    for env in ("dev", "staging"):
        inv = stack(env)
        assert inv.of_type(LOCK) == [] and not any(inv.one(kind).protect for kind in STATEFUL)
    shared = evaluate(ROOT, "shared")
    registry = shared.one(ML_REGISTRY)
    (lock,) = shared.of_type(LOCK)
    assert registry.protect and lock.parent == registry.urn and lock.inputs["scope"] == registry.id
