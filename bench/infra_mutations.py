"""Prove every infra test can fail: break each one's expectation (or the program) once, run it, expect red.

Usage: .venv/bin/python bench/infra_mutations.py [-j N]
Each mutation runs in a throwaway copy of the repository's infra, environments, endpoints, stack
files and tests/infra; nothing in the working tree is touched. Prints one line per mutation and
exits 1 if any mutated test still passed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T = "tests/infra/"

# (file, test, old text, new text): `old` must occur exactly once in `file`.
MUTATIONS = [
    (
        T + "test_cost.py",
        "test_the_sheet_prices_every_known_size_in_both_seeded_regions",
        '("westeurope", "eastus")',
        '("westeurope", "eastus", "japaneast")',
    ),
    (
        T + "test_cost.py",
        "test_prod_clusters_cost_nothing_idle_and_max_nodes_when_busy",
        "* 2 * HOURS_PER_MONTH, 2)\n",
        "* 3 * HOURS_PER_MONTH, 2)\n",
    ),
    (
        T + "test_cost.py",
        "test_endpoints_cost_instance_type_times_count_with_environment_overrides",
        '("Standard_DS3_v2", 2, round(',
        '("Standard_DS3_v2", 1, round(',
    ),
    (
        T + "test_cost.py",
        "test_low_priority_clusters_use_the_low_priority_price",
        'price("westeurope", "Standard_DS3_v2", LOW_PRIORITY)',
        'price("westeurope", "Standard_DS3_v2")',
    ),
    (T + "test_cost.py", "test_totals_add_up", "assert est.unpriced == []", "assert est.unpriced != []"),
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
        T + "test_cost.py",
        "test_a_recorded_page_parses_into_linux_dedicated_and_low_priority_prices",
        '("Standard_DS3_v2", "low_priority", 0.0684), ',
        "",
    ),
    (T + "test_cost.py", "test_fetch_follows_pages_and_the_sheet_merges", "assert len(calls) == 2", "assert len(calls) == 1"),
    (
        T + "test_cost.py",
        "test_an_unreachable_api_fails_clearly",
        'match="cannot read https://prices.azure.com/api/retail/prices.*unchanged"',
        'match="updated"',
    ),
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
    (
        "infra/policy/policies.py",
        "test_every_environment_passes_every_policy",
        'REQUIRED_TAGS = ("environment", "owner", "cost-center")',
        'REQUIRED_TAGS = ("environment", "owner", "cost-center", "data-class")',
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
        "infra/compute.py",
        "test_public_node_ips_are_fine_in_the_public_dev_environment",
        "enable_node_public_ip=args.node_public_ip",
        "enable_node_public_ip=False",
    ),
    (
        "infra/policy/policies.py",
        "test_public_access_is_fine_outside_production",
        'frozenset({"prod"})',
        'frozenset({"prod", "dev"})',
    ),
    ("infra/policy/policies.py", "test_every_declared_type_is_classified_for_tags", '    "azure-native:network:Subnet",\n', ""),
    ("infra/policy/__main__.py", "test_the_pack_entry_point_serves_every_policy", "policies=POLICIES", "policies=POLICIES[:3]"),
    (
        "infra/__main__.py",
        "test_everything_goes_through_the_manifests_subscription",
        "subscription_id=azure.subscription_id, tenant_id",
        'subscription_id="00000000-0000-0000-0000-000000000001", tenant_id',
    ),
    (
        "infra/workspace.py",
        "test_dependencies_have_no_keys",
        'system_datastores_auth_mode="identity"',
        'system_datastores_auth_mode="accessKey"',
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
        'if p.isolation_mode == "AllowOnlyApprovedOutbound" and registry_id is not None:',
        "if False:",
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
    (
        "infra/identity.py",
        "test_no_role_is_granted_at_subscription_scope",
        'scopes = {"workspace": args.workspace_id, "resource_group": args.resource_group_id}',
        'scopes = {"workspace": args.workspace_id, "resource_group": pulumi.Output.from_input(args.resource_group_id).apply(lambda i: i.split(\'/resourceGroups\')[0])}',
    ),
    (
        "infra/workspace.py",
        "test_diagnostics_reach_log_analytics",
        "for target in (self.workspace, self.key_vault, self.container_registry):",
        "for target in (self.key_vault, self.container_registry):",
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
        '"private-endpoints": "10.20.1.0/24"}',
        '"private-endpoints": "10.20.2.0/24"}',
    ),
    (
        T + "test_program.py",
        "test_the_shared_stack_owns_the_registry_in_every_environments_region",
        '== ["westeurope"]',
        '== ["westeurope", "eastus"]',
    ),
    (T + "test_program.py", "test_a_local_environment_has_nothing_to_deploy", 'evaluate(ROOT, "local")', 'evaluate(ROOT, "dev")'),
    (T + "test_program.py", "test_a_broken_manifest_fails_the_evaluation", "update(max_nodes=0)", "update(max_nodes=1)"),
]

COPY = ["infra", "environments", "endpoints", "models", "tests/infra"]


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
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:warnings", f"{test_file}::{test}"],
            cwd=root,
            capture_output=True,
            text=True,
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
