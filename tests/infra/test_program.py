"""What the program declares for dev, staging and prod, asserted on the resources the mocks recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_support import ROOT, STACKS, edit_environment, stack

from amlops.infraplan.inventory import Inventory, ProgramError, evaluate
from amlops.manifests import load_environment

ML = "azure-native:machinelearningservices"
WORKSPACE, COMPUTE = f"{ML}:Workspace", f"{ML}:Compute"
STORAGE, VAULT = "azure-native:storage:StorageAccount", "azure-native:keyvault:Vault"
ACR = "azure-native:containerregistry:Registry"
ROLE = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
DATA_SCIENTIST, READER, CONTRIBUTOR = (
    "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
)
BLOB_DATA, FILE_DATA = "ba92f5b4-2d11-453d-a403-e96b0029c9fe", "69566ab7-960f-475b-8e7c-b3118f30c6bd"


def storage_data(inv: Inventory) -> set[tuple[str, str]]:
    """What uploading models and using datastores needs with shared keys off."""
    return {(BLOB_DATA, inv.one(STORAGE).id), (FILE_DATA, inv.one(STORAGE).id)}


def roles(inv: Inventory, principal: str) -> set[tuple[str, str]]:
    """(role GUID, scope) granted to a principal."""
    return {
        (r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs["scope"])
        for r in inv.of_type(ROLE)
        if r.inputs["principalId"] == principal
    }


def aml(compute) -> dict:
    return compute.inputs["properties"]["properties"]


@pytest.mark.parametrize("env", STACKS)
def test_everything_goes_through_the_manifests_subscription(env: str) -> None:
    inv, manifest = stack(env), load_environment(ROOT, env)
    (provider,) = inv.of_type("pulumi:providers:azure-native")
    assert provider.inputs["subscriptionId"] == manifest.azure.subscription_id
    assert provider.inputs["tenantId"] == manifest.azure.tenant_id
    assert (
        inv.one("azure-native:resources:ResourceGroup").id
        == f"/subscriptions/{manifest.azure.subscription_id}/resourceGroups/{manifest.azure.resource_group}"
    )
    assert inv.one(WORKSPACE).azure_name == manifest.azure.workspace
    assert {r.inputs.get("location") for r in inv.azure_resources} <= {manifest.azure.location, "global", None}


@pytest.mark.parametrize("env", STACKS)
def test_dependencies_have_no_keys(env: str) -> None:
    inv = stack(env)
    storage, vault, acr, ws = (
        inv.one(STORAGE).inputs,
        inv.one(VAULT).inputs["properties"],
        inv.one(ACR).inputs,
        inv.one(WORKSPACE).inputs,
    )
    assert (storage["allowSharedKeyAccess"], storage["allowBlobPublicAccess"], storage["minimumTlsVersion"]) == (
        False,
        False,
        "TLS1_2",
    )
    assert (vault["enableRbacAuthorization"], vault["enablePurgeProtection"]) == (True, True)
    assert acr["adminUserEnabled"] is False
    identity = inv.named(f"id-{env}-workspace").id
    assert ws["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity]}
    assert ws["primaryUserAssignedIdentity"] == identity
    assert ws["systemDatastoresAuthMode"] == "Identity"
    assert (ws["storageAccount"], ws["keyVault"], ws["containerRegistry"]) == (
        inv.one(STORAGE).id,
        inv.one(VAULT).id,
        inv.one(ACR).id,
    )


def test_dev_is_public_and_cheap() -> None:
    inv = stack("dev")
    ws = inv.one(WORKSPACE).inputs
    assert ws["publicNetworkAccess"] == "Enabled" and "managedNetwork" not in ws
    clusters = {c.name.split("-")[0]: aml(c) for c in inv.of_type(COMPUTE)}
    assert {n: (c["vmPriority"], c["enableNodePublicIp"]) for n, c in clusters.items()} == {
        "cpu": ("LowPriority", True),
        "gpu": ("LowPriority", True),
    }
    assert clusters["gpu"]["scaleSettings"] == {"minNodeCount": 0, "maxNodeCount": 2, "nodeIdleTimeBeforeScaleDown": "PT600S"}
    assert clusters["cpu"]["scaleSettings"] == {"minNodeCount": 0, "maxNodeCount": 4, "nodeIdleTimeBeforeScaleDown": "PT900S"}


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_private_environments_close_public_access(env: str) -> None:
    inv = stack(env)
    assert inv.one(WORKSPACE).inputs["publicNetworkAccess"] == "Disabled"
    assert inv.one(STORAGE).inputs["publicNetworkAccess"] == "Disabled"
    assert inv.one(VAULT).inputs["properties"]["publicNetworkAccess"] == "Disabled"
    assert (inv.one(ACR).inputs["publicNetworkAccess"], inv.one(ACR).inputs["sku"]) == ("Disabled", {"name": "Premium"})
    for compute in inv.of_type(COMPUTE):
        assert (aml(compute)["enableNodePublicIp"], aml(compute)["vmPriority"]) == (False, "Dedicated")


def test_staging_allows_internet_outbound() -> None:
    network = stack("staging").one(WORKSPACE).inputs["managedNetwork"]
    assert network["isolationMode"] == "AllowInternetOutbound" and "outboundRules" not in network


def test_prod_allows_only_approved_outbound() -> None:
    network = stack("prod").one(WORKSPACE).inputs["managedNetwork"]
    assert network["isolationMode"] == "AllowOnlyApprovedOutbound"
    rules = network["outboundRules"]
    assert rules["pypi"] == {"type": "FQDN", "category": "UserDefined", "destination": "pypi.org"}
    assert rules["azure-monitor"]["destination"] == {
        "serviceTag": "AzureMonitor",
        "protocol": "TCP",
        "portRanges": "443",
        "action": "Allow",
    }
    registry = rules["shared-registry"]["destination"]
    assert (registry["subresourceTarget"], registry["serviceResourceId"]) == ("amlregistry", stack("prod").outputs["registry_id"])
    assert set(rules) == {"pypi", "pythonhosted", "azure-monitor", "anaconda-com", "anaconda-org", "shared-registry"}


def test_data_scientists_write_in_dev_and_read_in_prod() -> None:
    group = "11111111-1111-1111-1111-111111111111"
    dev, prod = stack("dev"), stack("prod")
    assert roles(dev, group) == {(DATA_SCIENTIST, dev.one(WORKSPACE).id)} | storage_data(dev)
    assert roles(prod, group) == {(READER, prod.one(WORKSPACE).id)}
    platform = roles(dev, "22222222-2222-2222-2222-222222222222")
    assert platform == {(CONTRIBUTOR, dev.one("azure-native:resources:ResourceGroup").id)} | storage_data(dev)
    assert all(r.inputs["principalType"] == "Group" for r in dev.of_type(ROLE) if r.inputs["principalId"] in (group,))


@pytest.mark.parametrize("env", STACKS)
def test_ci_signs_in_with_oidc_and_gets_least_privilege(env: str) -> None:
    inv = stack(env)
    (credential,) = [c for c in inv.of_type(CREDENTIAL) if c.inputs["resourceName"] == f"id-{env}-github"]
    assert credential.inputs["subject"] == f"repo:contoso/amlops:environment:{env}"
    assert credential.inputs["issuer"] == "https://token.actions.githubusercontent.com"
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert credential.inputs["resourceName"] == f"id-{env}-github"
    ci = inv.outputs["ci_identity"]["principal_id"]
    assert roles(inv, ci) == {
        (DATA_SCIENTIST, inv.one(WORKSPACE).id),
        ("1823dd4f-9b8c-4ab6-ab4e-7397a3684615", inv.outputs["registry_id"]),
        # Monitoring Contributor, to write the churn deployment's autoscale setting (how-to-autoscale-endpoints)
        ("749f88d5-cbae-40b8-bcfc-e573ddc772fa", inv.one("azure-native:resources:ResourceGroup").id),
    } | storage_data(inv)


@pytest.mark.parametrize("env", STACKS)
def test_pull_requests_evaluate_as_an_identity_that_submits_jobs_and_reads_their_figures(env: str) -> None:
    """`amlops evaluate` in a pull request: a job of no GitHub environment, so GitHub's `pull_request` subject; its
    custom role at the resource group (the plan lists autoscale settings there), blob reads, registry reads: no more."""
    inv = stack(env)
    (credential,) = [c for c in inv.of_type(CREDENTIAL) if c.inputs["resourceName"] == f"id-{env}-evaluate"]
    assert credential.inputs["subject"] == "repo:contoso/amlops:pull_request"
    assert credential.inputs["issuer"] == "https://token.actions.githubusercontent.com"
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    evaluate = inv.outputs["evaluate_identity"]["principal_id"]
    (custom,) = inv.of_type("azure-native:authorization:RoleDefinition")
    assert roles(inv, evaluate) == {
        (custom.inputs["roleDefinitionId"], inv.one("azure-native:resources:ResourceGroup").id),
        ("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", inv.one("azure-native:storage:StorageAccount").id),  # Storage Blob Data Reader
        ("acdd72a7-3385-48ef-bd42-f606fba81ae7", inv.outputs["registry_id"]),  # Reader: the plan reads registry models
    }


@pytest.mark.parametrize("env", STACKS)
def test_no_role_is_granted_at_subscription_scope(env: str) -> None:
    scopes = [r.inputs["scope"] for r in stack(env).of_type(ROLE)]
    assert scopes and all("/resourceGroups/" in s for s in scopes)


@pytest.mark.parametrize("env", STACKS)
def test_diagnostics_reach_log_analytics(env: str) -> None:
    inv = stack(env)
    workspace_id = inv.one("azure-native:operationalinsights:Workspace").id
    settings = {r.inputs["resourceUri"]: r.inputs for r in inv.of_type("azure-native:monitor:DiagnosticSetting")}
    for target in (WORKSPACE, VAULT, ACR, STORAGE):
        assert settings[inv.one(target).id]["workspaceId"] == workspace_id
    assert settings[inv.one(WORKSPACE).id]["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert inv.one(STORAGE).id + "/blobServices/default" in settings


@pytest.mark.parametrize("env", STACKS)
def test_outputs_for_the_rollout(env: str) -> None:
    inv, manifest = stack(env), load_environment(ROOT, env)
    out = inv.outputs
    assert (out["subscription_id"], out["resource_group"], out["workspace_name"], out["registry_name"]) == (
        manifest.azure.subscription_id,
        manifest.azure.resource_group,
        manifest.azure.workspace,
        manifest.infrastructure.registry,
    )
    assert out["workspace_identity"]["client_id"] and out["ci_identity"]["client_id"]
    assert set(out["clusters"]) == {c.name for c in manifest.infrastructure.clusters}


def test_a_resize_is_a_new_cluster(repo: Path) -> None:
    before = {c.name for c in evaluate(repo, "staging").of_type(COMPUTE)}
    edit_environment(repo, "staging", lambda d: d["infrastructure"]["clusters"][0].update(vm_size="Standard_DS4_v2"))
    after = {c.name: aml(c)["vmSize"] for c in evaluate(repo, "staging").of_type(COMPUTE)}
    assert len(before & set(after)) == 1  # the GPU cluster is untouched
    (new,) = set(after) - before
    assert new.startswith("cpu-") and after[new] == "Standard_DS4_v2" and len(new) <= 16


def test_a_new_generation_takes_new_names_for_soft_deleted_resources(repo: Path) -> None:
    first = evaluate(repo, "dev")
    path = repo / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace('amlops:generation: "1"', 'amlops:generation: "2"'))
    second = evaluate(repo, "dev")
    for kind in (VAULT, STORAGE, WORKSPACE, "azure-native:operationalinsights:Workspace"):
        assert first.one(kind).azure_name != second.one(kind).azure_name
    assert second.one(WORKSPACE).azure_name == "mlw-amlops-dev-g2"


def test_vnet_mode_builds_private_endpoints_and_dns(repo: Path) -> None:
    edit_environment(
        repo, "staging", lambda d: d["infrastructure"].update(network={"mode": "vnet", "address_space": "10.20.0.0/16"})
    )
    inv = evaluate(repo, "staging")
    subnets = {s.inputs["subnetName"]: s for s in inv.of_type("azure-native:network:Subnet")}
    assert {n: s.inputs["addressPrefix"] for n, s in subnets.items()} == {
        "training": "10.20.0.0/24",
        "private-endpoints": "10.20.1.0/24",
    }
    assert all(s.inputs["networkSecurityGroup"]["id"].endswith(f"nsg-vnet-staging-{n}") for n, s in subnets.items())
    endpoints = {
        (
            e.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"],
            e.inputs["privateLinkServiceConnections"][0]["groupIds"][0],
        )
        for e in inv.of_type("azure-native:network:PrivateEndpoint")
    }
    assert endpoints == {
        (inv.one(WORKSPACE).id, "amlworkspace"),
        (inv.one(STORAGE).id, "blob"),
        (inv.one(STORAGE).id, "file"),
        (inv.one(VAULT).id, "vault"),
        (inv.one(ACR).id, "registry"),
    }
    zones = {z.azure_name for z in inv.of_type("azure-native:privatedns:PrivateZone")}
    assert "privatelink.api.azureml.ms" in zones and len(zones) == 6
    assert len(inv.of_type("azure-native:privatedns:VirtualNetworkLink")) == 6
    assert len(inv.of_type("azure-native:network:PrivateDnsZoneGroup")) == 5
    for compute in inv.of_type(COMPUTE):
        assert aml(compute)["subnet"] == {"id": subnets["training"].id} and aml(compute)["enableNodePublicIp"] is False
    assert "managedNetwork" not in inv.one(WORKSPACE).inputs and inv.one(WORKSPACE).inputs["publicNetworkAccess"] == "Disabled"


def test_the_shared_stack_owns_the_registry_in_every_environments_region() -> None:
    inv = evaluate(ROOT, "shared")
    registry = inv.one(f"{ML}:Registry")
    assert registry.azure_name == "amlopsreg"
    assert [r["location"] for r in registry.inputs["regionDetails"]] == ["westeurope"]
    assert registry.inputs["tags"]["environment"] == "shared"
    assert inv.outputs["registry_id"] == registry.id


def test_a_local_environment_has_nothing_to_deploy() -> None:
    with pytest.raises(ProgramError, match="no Azure infrastructure"):
        evaluate(ROOT, "local")


def test_a_broken_manifest_fails_the_evaluation(repo: Path) -> None:
    edit_environment(repo, "dev", lambda d: d["infrastructure"]["clusters"][0].update(max_nodes=0))
    with pytest.raises(ProgramError, match="max_nodes"):
        evaluate(repo, "dev")
