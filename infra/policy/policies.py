"""amlops's infrastructure policies, importable without starting a policy server.

`__main__.py` builds the pack from `POLICIES` for `pulumi preview --policy-pack infra/policy`;
`amlops infra plan` and the tests call the same `validate` functions on the inputs that Pulumi's
mocks recorded. Properties arrive as the engine sees them: camelCase keys, numbers as floats.

Production rules apply to every stack whose resource group carries the tag `tier: production`,
which the program sets from the manifest's `infrastructure.production_like` (and, for the shared
stack, from whether any production-like environment promotes through the registry), never from
the stack's name. Role ids are checked against `infra/roles.csv`, which cites Microsoft's list of
built-in roles, so that a wrong GUID in the program is caught.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

REQUIRED_TAGS = ("environment", "owner", "cost-center", "tier")
PRODUCTION_TIER = "production"
ROLES_TABLE = Path(__file__).resolve().parents[1] / "roles.csv"

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
CONTAINER_REGISTRY = "azure-native:containerregistry:Registry"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
LOCK = "azure-native:authorization:ManagementLockByScope"


def _documented_roles() -> dict[str, str]:
    """Built-in role name -> id, from the table that cites Microsoft's documentation."""
    with ROLES_TABLE.open(newline="") as fh:
        return {row["role"]: row["id"] for row in csv.DictReader(fh)}


ROLE_IDS = _documented_roles()
#: Roles a team (an Entra ID group) may hold, per tier. No Owner or access administration anywhere.
TEAM_ROLES = {
    PRODUCTION_TIER: frozenset(
        ROLE_IDS[r]
        for r in (
            "Reader",
            "AzureML Data Scientist",
            "AzureML Compute Operator",
            "Storage Blob Data Contributor",
            "Storage File Data Privileged Contributor",
        )
    ),
}
TEAM_ROLES["non-production"] = TEAM_ROLES[PRODUCTION_TIER] | {ROLE_IDS["Contributor"]}

#: Resource types that carry ARM tags: all must have the required ones.
TAGGABLE = frozenset(
    {
        RESOURCE_GROUP,
        WORKSPACE,
        COMPUTE,
        ML_REGISTRY,
        STORAGE,
        VAULT,
        CONTAINER_REGISTRY,
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:operationalinsights:Workspace",
        "azure-native:applicationinsights:Component",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:PrivateEndpoint",
        "azure-native:privatedns:PrivateZone",
        "azure-native:privatedns:VirtualNetworkLink",
    }
)
#: Types without ARM tags (sub-resources and extension resources). A type in neither set fails the tests.
UNTAGGABLE = frozenset(
    {
        ROLE_ASSIGNMENT,
        ROLE_DEFINITION,
        "azure-native:monitor:DiagnosticSetting",
        "azure-native:managedidentity:FederatedIdentityCredential",
        "azure-native:network:Subnet",
        "azure-native:network:PrivateDnsZoneGroup",
        LOCK,
    }
)


def stack_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type>::<name>` -> stack."""
    return urn.split(":", 2)[2].split("::", 1)[0]


def _public_access(resource_type: str, props: Mapping[str, Any]) -> Any:
    if resource_type == VAULT:
        return (props.get("properties") or {}).get("publicNetworkAccess")
    return props.get("publicNetworkAccess")


def _aml_compute(props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    outer = props.get("properties") or {}
    return (outer.get("properties") or {}) if outer.get("computeType") == "AmlCompute" else None


def _production(resources: Iterable[Any]) -> bool:
    return any(
        r.resource_type == RESOURCE_GROUP and (r.props.get("tags") or {}).get("tier") == PRODUCTION_TIER for r in resources
    )


def _no_public_network_access(args: StackValidationArgs, report: ReportViolation) -> None:
    if not _production(args.resources):
        return
    for r in args.resources:
        if r.resource_type in (WORKSPACE, STORAGE, VAULT, CONTAINER_REGISTRY) and (
            _public_access(r.resource_type, r.props) != "Disabled"
        ):
            report(f"publicNetworkAccess must be 'Disabled' (is {_public_access(r.resource_type, r.props)!r})", r.urn)


def _isolation_mode(args: StackValidationArgs, report: ReportViolation) -> None:
    """Production workspaces leave their managed network only through approved rules."""
    if not _production(args.resources):
        return
    for r in args.resources:
        mode = (r.props.get("managedNetwork") or {}).get("isolationMode")
        if r.resource_type == WORKSPACE and mode != "AllowOnlyApprovedOutbound":
            report(f"managedNetwork.isolationMode must be 'AllowOnlyApprovedOutbound' (is {mode!r})", r.urn)


def _network_default_deny(args: StackValidationArgs, report: ReportViolation) -> None:
    """Key Vault and storage deny by default: private endpoints and trusted Azure services only."""
    if not _production(args.resources):
        return
    for r in args.resources:
        if r.resource_type == VAULT:
            action = ((r.props.get("properties") or {}).get("networkAcls") or {}).get("defaultAction")
            if action != "Deny":
                report(f"properties.networkAcls.defaultAction must be 'Deny' (is {action!r})", r.urn)
        if r.resource_type == STORAGE:
            action = (r.props.get("networkRuleSet") or {}).get("defaultAction")
            if action != "Deny":
                report(f"networkRuleSet.defaultAction must be 'Deny' (is {action!r})", r.urn)


def _role_allow_list(args: StackValidationArgs, report: ReportViolation) -> None:
    """Only documented built-in roles, or a custom role the stack defines itself; teams only what their tier allows."""
    tier = PRODUCTION_TIER if _production(args.resources) else "non-production"
    names = {v: k for k, v in ROLE_IDS.items()}
    custom = {str(r.props.get("roleDefinitionId")) for r in args.resources if r.resource_type == ROLE_DEFINITION}
    for r in args.resources:
        if r.resource_type != ROLE_ASSIGNMENT:
            continue
        role = str(r.props.get("roleDefinitionId", "")).rsplit("/", 1)[-1]
        if role in custom and r.props.get("principalType") != "Group":
            continue
        if role not in names:
            report(f"role {role} is neither a built-in role of infra/roles.csv nor defined by this stack", r.urn)
        elif r.props.get("principalType") == "Group" and role not in TEAM_ROLES[tier]:
            report(f"teams may not hold {names[role]} in a {tier} environment", r.urn)


def _shared_registry_network_access(args: StackValidationArgs, report: ReportViolation) -> None:
    """The registry every release travels through: reached privately from production, never anonymous.

    In a production environment's stack the workspace must reach the registry through a managed
    private endpoint; in the shared stack the registry's network access must be stated, its
    storage must not serve anonymous blobs, and a delete lock must hold it.
    """
    if not _production(args.resources):
        return
    for r in args.resources:
        if r.resource_type == WORKSPACE:
            rules = ((r.props.get("managedNetwork") or {}).get("outboundRules") or {}).values()
            targets = {
                (rule.get("destination") or {}).get("subresourceTarget")
                for rule in rules
                if rule.get("type") == "PrivateEndpoint"
            }
            if "amlregistry" not in targets:
                report("the workspace must reach the shared registry through a private endpoint rule (amlregistry)", r.urn)
        if r.resource_type == ML_REGISTRY:
            if r.props.get("publicNetworkAccess") not in ("Enabled", "Disabled"):
                report("the registry's publicNetworkAccess must be set explicitly", r.urn)
            for region in r.props.get("regionDetails") or []:
                for account in region.get("storageAccountDetails") or []:
                    if (account.get("systemCreatedStorageAccount") or {}).get("allowBlobPublicAccess") is not False:
                        report(f"registry storage in {region.get('location')} must not allow anonymous blob access", r.urn)


def _stateful_resources_protected(args: StackValidationArgs, report: ReportViolation) -> None:
    """What cannot be rebuilt (soft-deleted or holding releases) is protected and delete-locked."""
    if not _production(args.resources):
        return
    # A lock is its resource's child: in a preview the resource's id (the lock's scope) is unknown.
    locked = {
        r.parent.urn for r in args.resources if r.resource_type == LOCK and r.props.get("level") == "CanNotDelete" and r.parent
    }
    for r in args.resources:
        if r.resource_type not in (WORKSPACE, STORAGE, VAULT, CONTAINER_REGISTRY, ML_REGISTRY):
            continue
        if not r.opts.protect:
            report(f"{r.name} must be protected from destroy (protect=True)", r.urn)
        if r.urn not in locked:
            report(f"{r.name} must carry a CanNotDelete management lock", r.urn)


def _clusters_scale_to_zero(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != COMPUTE or (aml := _aml_compute(args.props)) is None:
        return
    minimum = (aml.get("scaleSettings") or {}).get("minNodeCount", 0)
    if minimum != 0:
        report(f"minNodeCount is {minimum:g}: idle nodes are billed; set min_nodes: 0", None)


def _storage_shared_keys_off(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == STORAGE and args.props.get("allowSharedKeyAccess") is not False:
        report("allowSharedKeyAccess must be false: access goes through Entra ID and managed identities", None)


def _storage_transport(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != STORAGE:
        return
    if args.props.get("minimumTlsVersion") != "TLS1_2":
        report("minimumTlsVersion must be TLS1_2", None)
    if args.props.get("allowBlobPublicAccess") is not False:
        report("allowBlobPublicAccess must be false", None)


def _key_vault_purge_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == VAULT and (args.props.get("properties") or {}).get("enablePurgeProtection") is not True:
        report("enablePurgeProtection must be true", None)


def _key_vault_rbac(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == VAULT and (args.props.get("properties") or {}).get("enableRbacAuthorization") is not True:
        report("enableRbacAuthorization must be true: no access policies", None)


def _registry_admin_user_off(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == CONTAINER_REGISTRY and args.props.get("adminUserEnabled") is not False:
        report("adminUserEnabled must be false: pulls and pushes use Entra ID identities", None)


def _registry_anonymous_pull_off(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == CONTAINER_REGISTRY and args.props.get("anonymousPullEnabled") is not False:
        report("anonymousPullEnabled must be false: images may hold code and models", None)


def _compute_local_auth_off(args: ResourceValidationArgs, report: ReportViolation) -> None:
    outer = args.props.get("properties") or {}
    if args.resource_type == COMPUTE and outer.get("computeType") == "AmlCompute" and outer.get("disableLocalAuth") is not True:
        report("disableLocalAuth must be true: nodes authenticate with Entra ID, not local keys", None)


def _required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in TAGGABLE:
        return
    tags = args.props.get("tags") or {}
    missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
    if missing:
        report(f"missing required tags: {', '.join(missing)}", None)


def _no_subscription_scope(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == ROLE_ASSIGNMENT and "/resourcegroups/" not in str(args.props.get("scope", "")).lower():
        report(f"role assignments are scoped to a resource group or below, not {args.props.get('scope')!r}", None)


def _no_public_node_ips(args: StackValidationArgs, report: ReportViolation) -> None:
    """Clusters of a private workspace (managed network or no public access) have no public IPs."""
    private = any(
        r.resource_type == WORKSPACE
        and (
            r.props.get("publicNetworkAccess") == "Disabled"
            or (r.props.get("managedNetwork") or {}).get("isolationMode") not in (None, "Disabled")
        )
        for r in args.resources
    )
    if not private:
        return
    for r in args.resources:
        if r.resource_type == COMPUTE and (aml := _aml_compute(r.props)) is not None:
            if aml.get("enableNodePublicIp") is not False:
                report(f"cluster {r.name} of a private workspace must set enableNodePublicIp: false", r.urn)
            if aml.get("remoteLoginPortPublicAccess") != "Disabled":
                report(f"cluster {r.name} of a private workspace must disable public SSH", r.urn)


MANDATORY = EnforcementLevel.MANDATORY

POLICIES = [
    StackValidationPolicy(
        "no-public-network-access-in-production",
        "Production workspaces and their storage, vault and container registry are not reachable from the internet.",
        _no_public_network_access,
        MANDATORY,
    ),
    StackValidationPolicy(
        "isolation-mode-in-production",
        "Production workspaces allow only approved outbound traffic from their managed network.",
        _isolation_mode,
        MANDATORY,
    ),
    StackValidationPolicy(
        "network-default-deny-in-production",
        "Production Key Vaults and storage accounts deny network access by default.",
        _network_default_deny,
        MANDATORY,
    ),
    StackValidationPolicy(
        "role-allow-list",
        "Only documented built-in roles or the stack's own custom roles; teams hold only the roles their tier allows.",
        _role_allow_list,
        MANDATORY,
    ),
    StackValidationPolicy(
        "shared-registry-network-access",
        "Production reaches the shared registry privately; the registry states its network access, serves nothing anonymously.",
        _shared_registry_network_access,
        MANDATORY,
    ),
    StackValidationPolicy(
        "stateful-resources-protected-in-production",
        "Production workspaces, storage, vaults and registries are protected from destroy and delete-locked.",
        _stateful_resources_protected,
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "compute-local-auth-off", "AmlCompute clusters disable local authentication.", _compute_local_auth_off, MANDATORY
    ),
    ResourceValidationPolicy(
        "clusters-scale-to-zero", "Every AmlCompute cluster scales down to zero nodes.", _clusters_scale_to_zero, MANDATORY
    ),
    ResourceValidationPolicy(
        "storage-shared-keys-off",
        "Storage accounts refuse shared-key (account key and SAS) access.",
        _storage_shared_keys_off,
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "storage-secure-transport", "Storage requires TLS 1.2 and allows no anonymous blob access.", _storage_transport, MANDATORY
    ),
    ResourceValidationPolicy(
        "key-vault-purge-protection", "Key Vaults have purge protection.", _key_vault_purge_protection, MANDATORY
    ),
    ResourceValidationPolicy("key-vault-rbac", "Key Vaults authorize with Azure RBAC.", _key_vault_rbac, MANDATORY),
    ResourceValidationPolicy(
        "container-registry-admin-user-off", "Container registries have no admin user.", _registry_admin_user_off, MANDATORY
    ),
    ResourceValidationPolicy(
        "container-registry-anonymous-pull-off",
        "Container registries refuse anonymous pulls.",
        _registry_anonymous_pull_off,
        MANDATORY,
    ),
    ResourceValidationPolicy(
        "required-tags", f"Taggable resources carry the tags {', '.join(REQUIRED_TAGS)}.", _required_tags, MANDATORY
    ),
    ResourceValidationPolicy(
        "no-subscription-scope-roles",
        "Roles are granted at a resource group or narrower, never the subscription.",
        _no_subscription_scope,
        MANDATORY,
    ),
    StackValidationPolicy(
        "no-public-node-ips", "Clusters of private workspaces have no public node IPs or SSH.", _no_public_node_ips, MANDATORY
    ),
]
