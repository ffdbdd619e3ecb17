"""amlops's infrastructure policies, importable without starting a policy server.

`__main__.py` builds the pack from `POLICIES` for `pulumi preview --policy-pack infra/policy`;
`amlops infra plan` and the tests call the same `validate` functions on the inputs that Pulumi's
mocks recorded. Properties arrive as the engine sees them: camelCase keys, numbers as floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

#: Stacks held to production rules.
PRODUCTION_STACKS = frozenset({"prod"})
REQUIRED_TAGS = ("environment", "owner", "cost-center")

WORKSPACE = "azure-native:machinelearningservices:Workspace"
COMPUTE = "azure-native:machinelearningservices:Compute"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
CONTAINER_REGISTRY = "azure-native:containerregistry:Registry"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"

#: Resource types that carry ARM tags: all must have the required ones.
TAGGABLE = frozenset(
    {
        "azure-native:resources:ResourceGroup",
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
        "azure-native:monitor:DiagnosticSetting",
        "azure-native:managedidentity:FederatedIdentityCredential",
        "azure-native:network:Subnet",
        "azure-native:network:PrivateDnsZoneGroup",
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


def _no_public_network_access_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if stack_of(args.urn) not in PRODUCTION_STACKS:
        return
    if args.resource_type in (WORKSPACE, STORAGE, VAULT, CONTAINER_REGISTRY, ML_REGISTRY) and (
        _public_access(args.resource_type, args.props) != "Disabled"
    ):
        report(
            f"publicNetworkAccess must be 'Disabled' in production (is {_public_access(args.resource_type, args.props)!r})",
            None,
        )


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
    ResourceValidationPolicy(
        "no-public-network-access-in-prod",
        "Production workspaces and their storage, vault and registries are not reachable from the internet.",
        _no_public_network_access_in_prod,
        MANDATORY,
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
