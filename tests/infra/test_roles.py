"""Every identity holds exactly the roles Microsoft documents for what it does: `infra/role-assignments.csv`.

The tables cite the documentation per row; the program's role assignments must match them, no
missing one and no extra one, with the ids of `infra/roles.csv`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from infra_support import ROOT, STACKS, edit_environment, stack

from amlops.infraplan import diff
from amlops.infraplan.inventory import Inventory, evaluate
from amlops.manifests import Environment, load_environment

ROLE = "azure-native:authorization:RoleAssignment"
DEFINITION = "azure-native:authorization:RoleDefinition"
ROLE_IDS = {r["role"]: r["id"] for r in csv.DictReader((ROOT / "infra" / "roles.csv").open())}
ASSIGNMENTS = list(csv.DictReader((ROOT / "infra" / "role-assignments.csv").open()))
EVALUATE_ROLE = "amlops evaluate"
EVALUATE_ACTIONS = [r["action"] for r in csv.DictReader((ROOT / "infra" / "evaluate-role.csv").open())]


def custom_roles(inv: Inventory) -> dict[str, str]:
    """The program's custom roles: name (without the resource group that makes it unique) -> GUID."""
    return {r.inputs["roleName"].rsplit(" ", 1)[0]: r.inputs["roleDefinitionId"] for r in inv.of_type(DEFINITION)}


def expected(inv: Inventory, env: Environment) -> set[tuple[str, str, str]]:
    """(principal, role id, scope) the table requires for this environment."""
    infra = env.infrastructure
    isolated = infra.network.mode.value == "managed"
    approved = isolated and infra.network.isolation.value == "allow_only_approved_outbound"
    ids = {
        "workspace": inv.one("azure-native:machinelearningservices:Workspace").id,
        "storage": inv.one("azure-native:storage:StorageAccount").id,
        "key-vault": inv.one("azure-native:keyvault:Vault").id,
        "container-registry": inv.one("azure-native:containerregistry:Registry").id,
        "app-insights": inv.one("azure-native:applicationinsights:Component").id,
        "resource-group": inv.one("azure-native:resources:ResourceGroup").id,
        "shared-registry": inv.outputs["registry_id"],
    }
    when = {"always": True, "managed-network": isolated, "registry-outbound-rule": approved, "autoscale": env.autoscales}
    principals: dict[str, list[tuple[str, str]]] = {
        "workspace": [(inv.outputs["workspace_identity"]["principal_id"], "")],
        "ci": [(inv.outputs["ci_identity"]["principal_id"], "")] if infra.ci else [],
        "evaluate": [(inv.outputs["evaluate_identity"]["principal_id"], "")] if infra.ci else [],
    }
    for access in infra.access:
        principals.setdefault(f"team:{access.role.value}", []).append((access.group, access.scope))
    role_ids = ROLE_IDS | custom_roles(inv)
    out = set()
    for row in ASSIGNMENTS:
        if not when[row["when"]]:
            continue
        for principal, team_scope in principals.get(row["identity"], []):
            scope = (
                ids[{"workspace": "workspace", "resource_group": "resource-group"}[team_scope]]
                if row["scope"] == "team-scope"
                else ids[row["scope"]]
            )
            out.add((principal, role_ids[row["role"]], scope))
    return out


def granted(inv: Inventory) -> set[tuple[str, str, str]]:
    return {
        (r.inputs["principalId"], r.inputs["roleDefinitionId"].rsplit("/", 1)[-1], r.inputs["scope"]) for r in inv.of_type(ROLE)
    }


def test_the_tables_cite_microsofts_documentation() -> None:
    assert ASSIGNMENTS and all(row["doc"].startswith("https://learn.microsoft.com/azure/") for row in ASSIGNMENTS)
    assert {row["role"] for row in ASSIGNMENTS} <= set(ROLE_IDS) | {EVALUATE_ROLE}
    assert all(len(role_id) == 36 for role_id in ROLE_IDS.values())


@pytest.mark.parametrize("env", STACKS)
def test_every_role_assignment_is_documented_and_none_is_missing(env: str) -> None:
    inv = stack(env)
    want, have = expected(inv, load_environment(ROOT, env)), granted(inv)
    assert have - want == set(), "extra"
    assert want - have == set(), "missing"
    assert len(inv.of_type(ROLE)) == len(have)  # no duplicate of a (principal, role, scope)


def test_a_workspace_without_managed_network_approves_nothing() -> None:
    approver = ROLE_IDS["Azure AI Enterprise Network Connection Approver"]
    assert not [r for r in granted(stack("dev")) if r[1] == approver]
    scopes = {r[2] for r in granted(stack("prod")) if r[1] == approver}
    assert scopes == {stack("prod").one("azure-native:resources:ResourceGroup").id, stack("prod").outputs["registry_id"]}


def test_ci_may_write_autoscale_settings_only_where_a_deployment_autoscales(repo: Path) -> None:
    contributor = ROLE_IDS["Monitoring Contributor"]
    before = evaluate(repo, "dev")
    assert {r[2] for r in granted(before) if r[1] == contributor} == {before.one("azure-native:resources:ResourceGroup").id}
    edit_environment(repo, "dev", lambda d: d["endpoints"]["churn"]["deployments"]["main"].pop("autoscale"))
    assert not [r for r in granted(evaluate(repo, "dev")) if r[1] == contributor]


def test_role_definitions_live_in_the_scopes_subscription() -> None:
    for r in stack("prod").of_type(ROLE):
        assert r.inputs["roleDefinitionId"].split("/")[:3] == r.inputs["scope"].split("/")[:3]


def test_renaming_a_team_changes_no_role_assignment(repo: Path) -> None:
    before = evaluate(repo, "dev")
    edit_environment(repo, "dev", lambda d: d["infrastructure"]["access"][0].update(name="data-science-guild"))
    after = evaluate(repo, "dev")
    assert [c for c in diff.resources(before, after) if c.type == ROLE] == []
    names = {r.inputs["roleAssignmentName"] for r in after.of_type(ROLE)}
    assert len(names) == len(after.of_type(ROLE))  # one GUID per (scope, role, principal)


def test_assignment_names_are_seeded_from_scope_role_and_principal(repo: Path) -> None:
    """The same triple gets the same GUID whatever the logical name; another principal another GUID."""
    import uuid

    inv = stack("dev")
    (reader,) = [r for r in inv.of_type(ROLE) if r.name.startswith("team-11111111") and "data-scientist" in r.name]
    namespace = uuid.UUID("5f0d6a57-3c55-4b8e-9a0e-6d1c2b4a7e10")
    seed = "\x1f".join((reader.inputs["scope"].lower(), ROLE_IDS["AzureML Data Scientist"], reader.inputs["principalId"]))
    assert reader.inputs["roleAssignmentName"] == str(uuid.uuid5(namespace, seed))
    edit_environment(repo, "dev", lambda d: d["infrastructure"]["access"][0].update(group="44444444-4444-4444-4444-444444444444"))
    moved = {r.inputs["roleAssignmentName"] for r in evaluate(repo, "dev").of_type(ROLE)}
    assert reader.inputs["roleAssignmentName"] not in moved


@pytest.mark.parametrize("env", STACKS)
def test_the_evaluate_role_holds_exactly_its_table_and_is_assignable_only_at_the_resource_group(env: str) -> None:
    inv = stack(env)
    (definition,) = inv.of_type(DEFINITION)
    group = inv.one("azure-native:resources:ResourceGroup").id
    assert definition.inputs["roleType"] == "CustomRole"
    assert definition.inputs["scope"] == group and definition.inputs["assignableScopes"] == [group]
    (permission,) = definition.inputs["permissions"]
    assert permission == {"actions": EVALUATE_ACTIONS}  # no notActions, data actions or anything else
    assert custom_roles(inv) == {EVALUATE_ROLE: definition.inputs["roleDefinitionId"]}


def test_the_evaluate_role_writes_jobs_only_and_nothing_that_serves() -> None:
    """No wildcard anywhere, and the one write is a job's (with what Azure documents submitting one needs: building
    and reading its environment, writing its artifacts): no endpoint, deployment or traffic change."""
    assert not [a for a in EVALUATE_ACTIONS if "*" in a]
    writes = [a for a in EVALUATE_ACTIONS if not a.endswith("/read")]
    assert writes == [
        "Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action",
        "Microsoft.MachineLearningServices/workspaces/jobs/write",
        "Microsoft.MachineLearningServices/workspaces/environments/build/action",
        "Microsoft.MachineLearningServices/workspaces/environments/readSecrets/action",
        "Microsoft.MachineLearningServices/workspaces/metadata/artifacts/write",
    ]
    serving = ("onlineendpoints/", "serverlessendpoints/", "batchendpoints/", "autoscalesettings/")
    assert all(a.lower().endswith("/read") for a in EVALUATE_ACTIONS if any(s in a.lower() for s in serving))
