"""The policy pack, offline: every environment passes, and each policy catches what it is for."""

from __future__ import annotations

import copy
import runpy
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from infra_support import ROOT, edit_environment, stack

from amlops.infraplan.inventory import Inventory, evaluate
from amlops.infraplan.policy import check, load_policies

POLICIES = load_policies(ROOT)


def azure_stacks() -> list[str]:
    """Every environment file with infrastructure, and the shared stack."""
    from amlops.manifests import load_environment

    names = sorted(p.stem for p in (ROOT / "environments").glob("*.yaml"))
    return [n for n in names if load_environment(ROOT, n).infrastructure is not None] + ["shared"]


def violations(inv: Inventory) -> dict[str, list[str]]:
    return {r.policy: [f"{v.name}: {v.message}" for v in r.violations] for r in check(inv, ROOT) if not r.passed}


def mutated(inv: Inventory, type_token: str, change: Callable[[dict[str, Any]], None]) -> Inventory:
    """`inv` with one change applied to the inputs of every resource of a type."""
    resources = []
    for r in inv.resources:
        if r.type == type_token:
            inputs = copy.deepcopy(r.inputs)
            change(inputs)
            r = replace(r, inputs=inputs)
        resources.append(r)
    return replace(inv, resources=resources)


@pytest.mark.parametrize("name", azure_stacks())
def test_every_environment_passes_every_policy(name: str) -> None:
    inv = stack(name) if name != "shared" else evaluate(ROOT, "shared")
    assert violations(inv) == {}
    assert len(check(inv, ROOT)) == len(POLICIES.POLICIES) >= 10


def test_the_repository_has_all_three_environments() -> None:
    assert {"dev", "staging", "prod"} <= set(azure_stacks())


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        for key in parents:
            inputs = inputs.setdefault(key, {})
        inputs[leaf] = value

    return change


def _drop_tag(inputs: dict[str, Any]) -> None:
    del inputs["tags"]["cost-center"]


def _role(role_id: str) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        inputs["roleDefinitionId"] = inputs["roleDefinitionId"].rsplit("/", 1)[0] + "/" + role_id

    return change


def _no_registry_rule(inputs: dict[str, Any]) -> None:
    del inputs["managedNetwork"]["outboundRules"]["shared-registry"]


def _public_registry_storage(inputs: dict[str, Any]) -> None:
    inputs["regionDetails"][0]["storageAccountDetails"][0]["systemCreatedStorageAccount"]["allowBlobPublicAccess"] = True


CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
WRONG_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9ff"


CASES = [
    (
        "no-public-network-access-in-production",
        "prod",
        "azure-native:storage:StorageAccount",
        _set("publicNetworkAccess", "Enabled"),
    ),
    (
        "no-public-network-access-in-production",
        "prod",
        "azure-native:keyvault:Vault",
        _set("properties.publicNetworkAccess", "Enabled"),
    ),
    (
        "no-public-network-access-in-production",
        "prod",
        "azure-native:machinelearningservices:Workspace",
        _set("publicNetworkAccess", "Enabled"),
    ),
    (
        "clusters-scale-to-zero",
        "dev",
        "azure-native:machinelearningservices:Compute",
        _set("properties.properties.scaleSettings.minNodeCount", 1.0),
    ),
    ("storage-shared-keys-off", "dev", "azure-native:storage:StorageAccount", _set("allowSharedKeyAccess", True)),
    ("storage-secure-transport", "dev", "azure-native:storage:StorageAccount", _set("minimumTlsVersion", "TLS1_0")),
    ("key-vault-purge-protection", "staging", "azure-native:keyvault:Vault", _set("properties.enablePurgeProtection", False)),
    ("key-vault-rbac", "staging", "azure-native:keyvault:Vault", _set("properties.enableRbacAuthorization", False)),
    ("container-registry-admin-user-off", "dev", "azure-native:containerregistry:Registry", _set("adminUserEnabled", True)),
    ("required-tags", "dev", "azure-native:machinelearningservices:Compute", _drop_tag),
    (
        "no-subscription-scope-roles",
        "dev",
        "azure-native:authorization:RoleAssignment",
        _set("scope", "/subscriptions/00000000-0000-0000-0000-00000000d001"),
    ),
    (
        "no-public-node-ips",
        "prod",
        "azure-native:machinelearningservices:Compute",
        _set("properties.properties.enableNodePublicIp", True),
    ),
    ("compute-local-auth-off", "dev", "azure-native:machinelearningservices:Compute", _set("properties.disableLocalAuth", False)),
    (
        "isolation-mode-in-production",
        "prod",
        "azure-native:machinelearningservices:Workspace",
        _set("managedNetwork.isolationMode", "AllowInternetOutbound"),
    ),
    (
        "network-default-deny-in-production",
        "prod",
        "azure-native:keyvault:Vault",
        _set("properties.networkAcls.defaultAction", "Allow"),
    ),
    (
        "network-default-deny-in-production",
        "prod",
        "azure-native:storage:StorageAccount",
        _set("networkRuleSet.defaultAction", "Allow"),
    ),
    (
        "container-registry-anonymous-pull-off",
        "staging",
        "azure-native:containerregistry:Registry",
        _set("anonymousPullEnabled", True),
    ),
    ("role-allow-list", "prod", "azure-native:authorization:RoleAssignment", _role(CONTRIBUTOR)),
    ("role-allow-list", "dev", "azure-native:authorization:RoleAssignment", _role(WRONG_BLOB_DATA_CONTRIBUTOR)),
    ("shared-registry-network-access", "prod", "azure-native:machinelearningservices:Workspace", _no_registry_rule),
    ("shared-registry-network-access", "shared", "azure-native:machinelearningservices:Registry", _public_registry_storage),
    (
        "stateful-resources-protected-in-production",
        "prod",
        "azure-native:authorization:ManagementLockByScope",
        _set("level", "ReadOnly"),
    ),
]


@pytest.mark.parametrize(
    ("policy", "env", "type_token", "change"), CASES, ids=[f"{c[0]}:{c[1]}:{c[2].rsplit(':', 1)[-1]}" for c in CASES]
)
def test_each_policy_catches_its_violation(
    policy: str, env: str, type_token: str, change: Callable[[dict[str, Any]], None]
) -> None:
    found = violations(mutated(stack(env), type_token, change))
    assert set(found) == {policy}, found


def test_every_policy_has_a_case() -> None:
    assert {c[0] for c in CASES} == {p.name for p in POLICIES.POLICIES}


def test_the_role_allow_list_lets_teams_contribute_outside_production() -> None:
    roles = stack("dev").of_type("azure-native:authorization:RoleAssignment")
    platform = [r for r in roles if r.inputs["roleDefinitionId"].endswith(CONTRIBUTOR) and r.inputs["principalType"] == "Group"]
    assert platform and "role-allow-list" not in violations(stack("dev"))


def test_an_unprotected_production_resource_fails() -> None:
    inv = stack("prod")
    vault = inv.one("azure-native:keyvault:Vault")
    unprotected = replace(inv, resources=[replace(r, protect=False) if r is vault else r for r in inv.resources])
    assert violations(unprotected) == {
        "stateful-resources-protected-in-production": [
            f"{vault.name}: {vault.name} must be protected from destroy (protect=True)"
        ]
    }


def test_production_rules_follow_the_manifest_not_the_stack_name(repo: Path) -> None:
    edit_environment(repo, "staging", lambda d: d["infrastructure"].update(production_like=True))
    assert set(violations(evaluate(repo, "staging"))) == {"isolation-mode-in-production", "shared-registry-network-access"}
    edit_environment(repo, "prod", lambda d: d["infrastructure"].update(production_like=False))
    prod = evaluate(repo, "prod")
    tiers = {r.inputs["tags"]["tier"] for r in prod.of_type("azure-native:resources:ResourceGroup")}
    assert violations(prod) == {} and tiers == {"non-production"}


def test_public_node_ips_are_fine_in_the_public_dev_environment() -> None:
    clusters = stack("dev").of_type("azure-native:machinelearningservices:Compute")
    assert clusters and all(c.inputs["properties"]["properties"]["enableNodePublicIp"] is True for c in clusters)
    assert "no-public-node-ips" not in violations(stack("dev"))


def test_public_access_is_fine_outside_production() -> None:
    assert stack("dev").one("azure-native:machinelearningservices:Workspace").inputs["publicNetworkAccess"] == "Enabled"
    assert violations(stack("dev")) == {}


def test_every_declared_type_is_classified_for_tags(repo: Path) -> None:
    edit_environment(repo, "staging", lambda d: d["infrastructure"].update(network={"mode": "vnet"}))
    inventories = [stack(n) for n in ("dev", "staging", "prod")] + [evaluate(ROOT, "shared"), evaluate(repo, "staging")]
    declared = {r.type for inv in inventories for r in inv.azure_resources}
    assert "azure-native:network:Subnet" in declared  # the vnet variant is covered
    assert declared - POLICIES.TAGGABLE - POLICIES.UNTAGGABLE == set()


def test_the_pack_entry_point_serves_every_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run infra/policy/__main__.py as the CLI would, with PolicyPack (which would serve and block) recorded."""
    import pulumi_policy

    packs: list[dict[str, Any]] = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: packs.append(kwargs))
    monkeypatch.syspath_prepend(str(ROOT / "infra" / "policy"))
    monkeypatch.delitem(sys.modules, "policies", raising=False)
    runpy.run_path(str(ROOT / "infra" / "policy" / "__main__.py"), run_name="__main__")
    (pack,) = packs
    names = [p.name for p in pack["policies"]]
    assert names == [p.name for p in POLICIES.POLICIES] and len(names) == len(set(names))
    assert pack["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY


def test_the_stacks_own_custom_role_is_allowed_for_its_identities_but_not_for_teams() -> None:
    """Every assignment turned into the evaluate role: only the teams' are refused (they hold built-in roles only)."""
    inv = stack("dev")
    custom = inv.one("azure-native:authorization:RoleDefinition").inputs["roleDefinitionId"]
    found = violations(mutated(inv, "azure-native:authorization:RoleAssignment", _role(custom)))
    teams = [r.name for r in inv.of_type("azure-native:authorization:RoleAssignment") if r.inputs["principalType"] == "Group"]
    assert teams and set(found) == {"role-allow-list"}
    assert sorted(m.split(":", 1)[0] for m in found["role-allow-list"]) == sorted(teams)
