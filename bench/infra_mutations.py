"""Prove every infra test can fail: break each one's expectation (or the program) once, run it, expect red.

Usage: .venv/bin/python bench/infra_mutations.py [-j N]
Each mutation runs in a throwaway copy of the repository's sources, infra, environments, endpoints,
stack files and tests/infra, imported from the copy; nothing in the working tree is touched. The
first five are the mutations the reviewer of issue 11 found passing every test. Prints one line per mutation and
exits 1 if any mutated test still passed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T = "tests/infra/"
S = "src/amlops/infraplan/"

# (file, test, old text, new text): `old` must occur exactly once in `file`.
MUTATIONS = [
    # What the reviewer of issue 11 tried: each passed every test before, each must be caught now.
    ("infra/compute.py", "test_every_environment_passes_every_policy", "disable_local_auth=True", "disable_local_auth=False"),
    (
        "infra/workspace.py",
        "test_every_environment_passes_every_policy",
        "network_acls=keyvault.NetworkRuleSetArgs(default_action=deny",
        'network_acls=keyvault.NetworkRuleSetArgs(default_action="Allow"',
    ),
    (
        "infra/identity.py",
        "test_every_role_assignment_is_documented_and_none_is_missing",
        '"ba92f5b4-2d11-453d-a403-e96b0029c9fe"',
        '"ba92f5b4-2d11-453d-a403-e96b0029c9ff"',
    ),
    (
        "infra/network.py",
        "test_private_environments_are_reachable",
        '"privatelink.notebooks.azure.net"]',
        '"privatelink.notebook.azure.net"]',
    ),
    (
        "environments/prod.yaml",
        "test_every_environment_passes_every_policy",
        "      role: Reader\n",
        "      role: Contributor\n      scope: resource_group\n",
    ),
    # Cost and prices
    (
        "infra/prices.csv",
        "test_every_row_has_a_source_a_date_and_says_whether_it_is_an_estimate",
        "eastus,Standard_DS3_v2,dedicated,0.293,USD,1 Hour,2026-12-01,https://github.com/skypilot-org/skypilot-catalog/blob/a7fff1712e3b45ac6f26289f2515503b8b30f76a/catalogs/v5/azure/az_ml_vms.csv",
        "eastus,Standard_DS3_v2,dedicated,0.293,USD,1 Hour,2026-12-01,https://prices.azure.com/api/retail/prices",
    ),
    (
        "infra/prices.csv",
        "test_dataset_rows_are_the_recorded_catalog_rows",
        "eastus,Standard_DS3_v2,dedicated,0.293,",
        "eastus,Standard_DS3_v2,dedicated,0.294,",
    ),
    (
        "infra/prices.csv",
        "test_regions_and_meters_without_a_dataset_are_estimates",
        "westeurope,Standard_DS3_v2,dedicated,0.293,USD,1 Hour,2026-12-01,https://github.com/skypilot-org/skypilot-catalog/blob/a7fff1712e3b45ac6f26289f2515503b8b30f76a/catalogs/v5/azure/az_ml_vms.csv,true",
        "westeurope,Standard_DS3_v2,dedicated,0.293,USD,1 Hour,2026-12-01,https://github.com/skypilot-org/skypilot-catalog/blob/a7fff1712e3b45ac6f26289f2515503b8b30f76a/catalogs/v5/azure/az_ml_vms.csv,false",
    ),
    (
        T + "test_cost.py",
        "test_prod_clusters_cost_nothing_idle_and_max_nodes_when_busy",
        "* 2 * HOURS_PER_MONTH, 2)\n",
        "* 3 * HOURS_PER_MONTH, 2)\n",
    ),
    (
        S + "cost.py",
        "test_endpoints_cost_instance_type_times_count_with_environment_overrides",
        "count = deployment.instance_count or (spec.instance_count if spec else None) or 1",
        "count = (spec.instance_count if spec else None) or 1",
    ),
    (
        T + "test_cost.py",
        "test_low_priority_clusters_use_the_low_priority_price",
        'price("westeurope", "Standard_DS3_v2", LOW_PRIORITY)',
        'price("westeurope", "Standard_DS3_v2")',
    ),
    (T + "test_cost.py", "test_totals_add_up", "assert est.unpriced == []", "assert est.unpriced != []"),
    (S + "cost.py", "test_fixed_costs_are_priced", 'or "Standard"  # Azure\'s default', 'or "Basic"  # Azure\'s default'),
    (S + "cost.py", "test_a_second_region_replicates_the_registry", "(len(regions), len(regions)),", "(1, 1),"),
    (
        T + "test_cost.py",
        "test_missing_deployment_files_and_prices_are_reported_not_guessed",
        "assert ghost.hourly is None",
        "assert ghost.hourly == 0",
    ),
    (
        T + "test_cost.py",
        "test_retail_filter_is_odata",
        "\"and (armSkuName eq 'Standard_DS3_v2' or",
        "\"and (armSkuName eq 'Standard_DS3_v2' and",
    ),
    (
        S + "prices.py",
        "test_an_api_page_parses_into_linux_hourly_prices",
        'if "Windows" in product or "Spot" in sku_name:',
        'if "Windows" in product:',
    ),
    (T + "test_cost.py", "test_fetch_follows_pages_and_the_sheet_merges", "assert len(calls) == 2", "assert len(calls) == 1"),
    (
        T + "test_cost.py",
        "test_an_unreachable_api_fails_clearly",
        'match="cannot read https://prices.azure.com/api/retail/prices.*unchanged"',
        'match="updated"',
    ),
    # The harness and its strictness
    (T + "test_harness.py", "test_unknown_invokes_raise", "pytest.raises(UnmockedCall,", "pytest.raises(KeyError,"),
    (T + "test_harness.py", "test_a_program_that_invokes_fails", 'match="getClientConfig"', 'match="getSubscription"'),
    (T + "test_harness.py", "test_errors_inside_apply_are_not_lost", "1 / 0", "1 / 1"),
    (
        T + "test_harness.py",
        "test_evaluations_are_independent_and_repeatable",
        'startswith("urn:pulumi:prod::amlops::")',
        'startswith("urn:pulumi:dev::amlops::")',
    ),
    (T + "test_harness.py", "test_stack_config_reaches_the_program", '{"generation": 7}', '{"generation": 1}'),
    (T + "test_harness.py", "test_names_are_within_azure_limits", "2 <= len(c.azure_name) <= 16", "2 <= len(c.azure_name) <= 8"),
    (
        S + "schema.py",
        "test_unknown_properties_are_refused_at_any_depth",
        'problems = [f"{_join(path, key)}: unknown property (not in {cls.__name__})" for key in value if key not in known]',
        "problems = []",
    ),
    (S + "schema.py", "test_enum_values_come_from_the_installed_provider", "if enums and isinstance(value, str):", "if False:"),
    (
        S + "schema.py",
        "test_required_properties_and_types_are_checked",
        "if p.default is inspect.Parameter.empty and p.name in python_to_pulumi",
        "if False and p.name in python_to_pulumi",
    ),
    (
        S + "schema.py",
        "test_a_discriminated_union_reports_the_shape_that_was_meant",
        "for option in _meant(options, value):",
        "for option in options:",
    ),
    (S + "inventory.py", "test_the_program_is_held_to_the_schema", "schema.check_resource(args.typ, dict(args.inputs))", "pass"),
    (
        S + "private_dns.py",
        "test_private_endpoints_are_checked_against_microsofts_table",
        "if group_id not in offered:",
        "if group_id is None:",
    ),
    (
        S + "private_dns.py",
        "test_an_endpoint_registered_in_the_wrong_zone_is_refused",
        "if zones != sorted(offered[group_id]):",
        "if not zones:",
    ),
    (S + "inventory.py", "test_a_misspelt_zone_is_refused", "            private_dns.check(inventory)", "            pass"),
    # The CLI
    (
        T + "test_plan_cli.py",
        "test_json_lists_resources_by_type_token_and_name",
        '{"type", "name", "azure_name", "settings"}',
        '{"type", "name", "settings"}',
    ),
    (
        T + "test_plan_cli.py",
        "test_markdown_is_a_pull_request_comment",
        '"usage-priced" in result.stdout',
        '"usage-priced" not in result.stdout',
    ),
    (T + "test_plan_cli.py", "test_a_mandatory_policy_violation_fails_the_command", "update(min_nodes=1)", "update(min_nodes=0)"),
    (T + "test_plan_cli.py", "test_an_unknown_environment_is_an_error_not_a_traceback", '"--env", "nope"', '"--env", "dev"'),
    (T + "test_plan_cli.py", "test_base_shows_resource_and_cost_changes", '("update", "cpu")}', '("update", "gpu")}'),
    (
        T + "test_plan_cli.py",
        "test_base_without_the_program_shows_everything_as_new",
        "plan.base.inventory is None",
        "plan.base.inventory is not None",
    ),
    (
        T + "test_plan_cli.py",
        "test_an_unknown_base_is_an_error",
        'assert result.exit_code == 2 and "git ls-tree"',
        'assert result.exit_code == 0 and "git ls-tree"',
    ),
    (
        T + "test_plan_cli.py",
        "test_prices_refresh_fails_clearly_without_the_api",
        "raise requests.ConnectionError(\"Failed to resolve 'prices.azure.com'\")",
        "return None",
    ),
    (T + "test_plan_cli.py", "test_prices_lists_the_sheet", '"westeurope" not in result.stdout', '"westeurope" in result.stdout'),
    # Refused transitions and incomplete rules
    (
        S + "transitions.py",
        "test_turning_the_managed_network_off_is_refused_with_file_and_line",
        "if after is None:",
        "if False:",
    ),
    (
        S + "transitions.py",
        "test_approved_outbound_cannot_go_back_to_internet_outbound",
        "if before is Isolation.allow_only_approved_outbound and after is Isolation.allow_internet_outbound:",
        "if False:",
    ),
    (S + "transitions.py", "test_tightening_outbound_is_allowed", "if after is None:", "if after is not before:"),
    (
        "src/amlops/manifests/checks.py",
        "test_validate_refuses_a_private_endpoint_rule_without_subresource",
        'if rule.type == "private_endpoint" and not rule.subresource:',
        "if False:",
    ),
    ("infra/network.py", "test_the_program_refuses_it_too", "    if not rule.subresource:", "    if False:"),
    # Policies
    (
        "infra/policy/policies.py",
        "test_every_environment_passes_every_policy",
        'REQUIRED_TAGS = ("environment", "owner", "cost-center", "tier")',
        'REQUIRED_TAGS = ("environment", "owner", "cost-center", "tier", "data-class")',
    ),
    (
        T + "test_policies.py",
        "test_the_repository_has_all_three_environments",
        '{"dev", "staging", "prod"}',
        '{"dev", "staging", "prod", "qa"}',
    ),
    (
        "infra/policy/policies.py",
        "test_each_policy_catches_its_violation",
        'args.props.get("allowSharedKeyAccess") is not False',
        'args.props.get("allowSharedKeyAccess") is None',
    ),
    (
        "infra/policy/policies.py",
        "test_each_policy_catches_its_violation",
        'if action != "Deny":\n                report(f"properties.networkAcls',
        'if action == "Allow!":\n                report(f"properties.networkAcls',
    ),
    (
        T + "test_policies.py",
        "test_every_policy_has_a_case",
        '    ("compute-local-auth-off", "dev", "azure-native:machinelearningservices:Compute", _set("properties.disableLocalAuth", False)),\n',
        "",
    ),
    (
        "infra/policy/policies.py",
        "test_the_role_allow_list_lets_teams_contribute_outside_production",
        'TEAM_ROLES["non-production"] = TEAM_ROLES[PRODUCTION_TIER] | {ROLE_IDS["Contributor"]}',
        'TEAM_ROLES["non-production"] = TEAM_ROLES[PRODUCTION_TIER]',
    ),
    (
        "infra/policy/policies.py",
        "test_an_unprotected_production_resource_fails",
        "if not r.opts.protect:",
        "if r.opts.protect is None:",
    ),
    (
        "infra/policy/policies.py",
        "test_production_rules_follow_the_manifest_not_the_stack_name",
        'r.resource_type == RESOURCE_GROUP and (r.props.get("tags") or {}).get("tier") == PRODUCTION_TIER for r in resources',
        'r.resource_type == RESOURCE_GROUP and stack_of(r.urn) == "prod" for r in resources',
    ),
    (
        "infra/compute.py",
        "test_public_node_ips_are_fine_in_the_public_dev_environment",
        "enable_node_public_ip=args.node_public_ip",
        "enable_node_public_ip=False",
    ),
    (
        "infra/__main__.py",
        "test_public_access_is_fine_outside_production",
        'tier = "production" if production_like else "non-production"',
        'tier = "production"',
    ),
    ("infra/policy/policies.py", "test_every_declared_type_is_classified_for_tags", '    "azure-native:network:Subnet",\n', ""),
    ("infra/policy/__main__.py", "test_the_pack_entry_point_serves_every_policy", "policies=POLICIES", "policies=POLICIES[:3]"),
    # Roles
    (
        "infra/identity.py",
        "test_every_role_assignment_is_documented_and_none_is_missing",
        'if team.role in ("AzureML Data Scientist", "Contributor"):',
        'if team.role == "Contributor":',
    ),
    (
        "infra/role-assignments.csv",
        "test_the_tables_cite_microsofts_documentation",
        "workspace,Contributor,workspace,always,https://learn.microsoft.com/",
        "workspace,Contributor,workspace,always,https://example.com/",
    ),
    (
        "infra/workspace.py",
        "test_a_workspace_without_managed_network_approves_nothing",
        'if args.posture.isolation_mode != "Disabled":\n            # Approves',
        "if True:\n            # Approves",
    ),
    (
        "infra/identity.py",
        "test_role_definitions_live_in_the_scopes_subscription",
        'lambda s: "/".join(s.split("/")[:3]) + f"/providers',
        'lambda s: "/subscriptions/00000000-0000-0000-0000-000000000000" + f"/providers',
    ),
    (
        "infra/identity.py",
        "test_renaming_a_team_changes_no_role_assignment",
        'label = f"team-{team.group}"',
        'label = f"team-{team.name}"',
    ),
    (
        "infra/identity.py",
        "test_assignment_names_are_seeded_from_scope_role_and_principal",
        "role_assignment_name(sp[0].lower(), ROLES[role], sp[1].lower())",
        "role_assignment_name(sp[0].lower(), role, sp[1].lower())",
    ),
    (
        "infra/identity.py",
        "test_no_role_is_granted_at_subscription_scope",
        'scopes = {"workspace": args.workspace_id, "resource_group": args.resource_group_id}',
        'scopes = {"workspace": args.workspace_id, "resource_group": pulumi.Output.from_input(args.resource_group_id).apply(lambda i: i.split(\'/resourceGroups\')[0])}',
    ),
    (
        T + "test_program.py",
        "test_data_scientists_write_in_dev_and_read_in_prod",
        "assert roles(prod, group) == {(READER,",
        "assert roles(prod, group) == {(DATA_SCIENTIST,",
    ),
    (
        T + "test_program.py",
        "test_ci_signs_in_with_oidc_and_gets_least_privilege",
        'f"repo:contoso/amlops:environment:{env}"',
        'f"repo:contoso/amlops:ref:refs/heads/main"',
    ),
    # The program
    (
        "infra/__main__.py",
        "test_everything_goes_through_the_manifests_subscription",
        "subscription_id=azure.subscription_id, tenant_id",
        'subscription_id="00000000-0000-0000-0000-000000000001", tenant_id',
    ),
    (
        "infra/workspace.py",
        "test_dependencies_have_no_keys",
        'system_datastores_auth_mode="Identity"',
        'system_datastores_auth_mode="AccessKey"',
    ),
    (
        T + "test_program.py",
        "test_dev_is_public_and_cheap",
        '"maxNodeCount": 2, "nodeIdleTimeBeforeScaleDown": "PT600S"',
        '"maxNodeCount": 2, "nodeIdleTimeBeforeScaleDown": "PT900S"',
    ),
    (
        "infra/workspace.py",
        "test_private_environments_close_public_access",
        'sku=containerregistry.SkuArgs(name="Premium" if private else "Basic")',
        'sku=containerregistry.SkuArgs(name="Standard")',
    ),
    (
        T + "test_program.py",
        "test_staging_allows_internet_outbound",
        '"AllowInternetOutbound" and',
        '"AllowOnlyApprovedOutbound" and',
    ),
    (
        "infra/network.py",
        "test_prod_allows_only_approved_outbound",
        "if p.registry_outbound_rule and registry_id is not None:",
        "if False:",
    ),
    (
        "infra/workspace.py",
        "test_diagnostics_reach_log_analytics",
        "for target in (self.workspace, self.key_vault, self.container_registry):\n            args.monitoring",
        "for target in (self.key_vault, self.container_registry):\n            args.monitoring",
    ),
    (T + "test_program.py", "test_outputs_for_the_rollout", 'out["ci_identity"]["client_id"]', 'out["ci_identity"]["secret"]'),
    (
        "infra/naming.py",
        "test_a_resize_is_a_new_cluster",
        "digest(vm_size.lower(), 'low' if low_priority else 'dedicated', length=5)",
        "digest('low' if low_priority else 'dedicated', length=5)",
    ),
    (
        "infra/naming.py",
        "test_a_new_generation_takes_new_names_for_soft_deleted_resources",
        "return digest(self.subscription_id, self.resource_group.lower(), str(self.generation))",
        "return digest(self.subscription_id, self.resource_group.lower())",
    ),
    (
        T + "test_program.py",
        "test_vnet_mode_builds_private_endpoints_and_dns",
        '"private-endpoints": "10.20.1.0/24",',
        '"private-endpoints": "10.20.2.0/24",',
    ),
    (
        T + "test_program.py",
        "test_the_shared_stack_owns_the_registry_in_every_environments_region",
        '== ["westeurope"]',
        '== ["westeurope", "eastus"]',
    ),
    (T + "test_program.py", "test_a_local_environment_has_nothing_to_deploy", 'evaluate(ROOT, "local")', 'evaluate(ROOT, "dev")'),
    (T + "test_program.py", "test_a_broken_manifest_fails_the_evaluation", "update(max_nodes=0)", "update(max_nodes=1)"),
    # Private environments
    (
        "infra/workspace.py",
        "test_private_environments_are_reachable",
        "for label, target, subresource in targets if args.network else targets[:3]:",
        "for label, target, subresource in targets if args.network else targets[:1]:",
    ),
    (
        "infra/__main__.py",
        "test_the_managed_network_is_provisioned_and_images_build_on_a_named_cluster",
        "cluster_name(builder.name, builder.vm_size, builder.low_priority) if builder else None,",
        "None,",
    ),
    (
        "infra/workspace.py",
        "test_a_public_workspace_builds_images_on_azure_and_has_no_managed_network",
        'provision_network_now=True if args.posture.isolation_mode != "Disabled" else None,',
        "provision_network_now=True,",
    ),
    (
        "environments/prod.yaml",
        "test_prods_outbound_rules_cover_what_image_builds_and_deployments_fetch",
        '      - name: anaconda-org\n        type: fqdn\n        destination: "*.anaconda.org"\n',
        "",
    ),
    (
        "src/amlops/manifests/environment.py",
        "test_a_private_environment_must_say_how_it_builds_and_who_reaches_it",
        "if self.network.mode is not NetworkMode.public and self.image_build_cluster is None:",
        "if False:",
    ),
    (
        "infra/workspace.py",
        "test_prods_stateful_resources_are_protected_and_locked",
        "child = pulumi.ResourceOptions(parent=self, protect=args.production_like)",
        "child = pulumi.ResourceOptions(parent=self)",
    ),
    (
        "infra/__main__.py",
        "test_other_environments_are_not_locked_and_the_shared_registry_is",
        "locked=production_like,",
        "locked=False,",
    ),
]

COPY = ["src", "infra", "environments", "endpoints", "models", "tests/infra"]


def run(mutation: tuple[str, str, str, str]) -> tuple[str, bool, str]:
    path, test, old, new = mutation
    with tempfile.TemporaryDirectory(prefix="amlops-mutation-") as tmp:
        root = Path(tmp)
        for item in COPY:
            if (ROOT / item).exists():
                shutil.copytree(ROOT / item, root / item, ignore=shutil.ignore_patterns("__pycache__"))
        for stack_file in ROOT.glob("Pulumi*.yaml"):
            shutil.copy(stack_file, root / stack_file.name)
        target = root / path
        text = target.read_text()
        if text.count(old) != 1:
            return test, False, f"mutation text occurs {text.count(old)} times in {path}"
        target.write_text(text.replace(old, new))
        test_file = next(f for f in (root / "tests/infra").glob("test_*.py") if f"def {test}(" in f.read_text())
        # The copy's own sources first: an installed amlops must not stand in for the mutated one.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root / "tests")])}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:warnings", f"{test_file}::{test}"],
            cwd=root,
            capture_output=True,
            text=True,
            env=env,
        )
        return (
            test,
            result.returncode == 1,
            result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-200:],
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-j", type=int, default=2)
    jobs = parser.parse_args().j
    escaped = 0
    with ThreadPoolExecutor(jobs) as pool:
        for test, caught, summary in pool.map(run, MUTATIONS):
            escaped += not caught
            print(f"{'caught ' if caught else 'ESCAPED'} {test}: {summary}")
    print(f"{len(MUTATIONS) - escaped}/{len(MUTATIONS)} mutations caught")
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
