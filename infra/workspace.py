"""The Azure ML workspace and the resources it depends on: storage, Key Vault, container registry.

Secure by default whatever the network mode: no shared keys (the workspace reaches its storage
with its managed identity), an RBAC Key Vault with purge protection, no registry admin user, TLS 1.2.
Private modes also switch public network access off on all of them, build images on a named
cluster (a private registry has no public build agents), and provision the managed network at
creation. A production-like environment's stateful resources are protected from `pulumi destroy`
and carry a CanNotDelete lock: workspaces and vaults are soft-deleted and cannot simply be rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from identity import grant
from monitoring import Monitoring
from naming import Names
from network import Posture, VirtualNetwork, managed_network
from pulumi_azure_native import authorization, containerregistry, keyvault, storage
from pulumi_azure_native import machinelearningservices as ml


@dataclass
class WorkspaceArgs:
    names: Names
    resource_group_name: pulumi.Input[str]
    location: str
    tenant_id: str
    posture: Posture
    identity_id: pulumi.Input[str]
    identity_principal_id: pulumi.Input[str]
    monitoring: Monitoring
    resource_group_id: pulumi.Input[str]
    #: `vnet` mode: where the clusters and every dependency's private endpoints go.
    network: VirtualNetwork | None = None
    #: `managed` mode: the access network, with private endpoints of the workspace and its storage.
    inbound: VirtualNetwork | None = None
    #: The shared Azure ML registry, reached through the managed network in approved-outbound mode.
    registry_id: pulumi.Input[str] | None = None
    #: The Azure name of the cluster that builds images (private registries).
    image_build_compute: str | None = None
    production_like: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def lock(target: pulumi.CustomResource) -> authorization.ManagementLockByScope:
    """A CanNotDelete lock: deleting `target` needs someone to remove the lock first, by hand."""
    return authorization.ManagementLockByScope(
        f"{target.pulumi_resource_name}-lock",
        lock_name="amlops-do-not-delete",
        level="CanNotDelete",
        scope=target.id,
        notes="production-like environment: stateful, soft-deleted or holding releases",
        opts=pulumi.ResourceOptions(parent=target),
    )


class Workspace(pulumi.ComponentResource):
    def __init__(self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("amlops:workspace:Workspace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names, access, private = args.names, args.posture.access, not args.posture.public_network_access
        deny = "Deny" if private else "Allow"
        child = pulumi.ResourceOptions(parent=self, protect=args.production_like)

        self.storage = storage.StorageAccount(
            names.storage_account,
            account_name=names.storage_account,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name="Standard_ZRS" if private else "Standard_LRS"),
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_blob_public_access=False,
            allow_cross_tenant_replication=False,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            public_network_access=access,
            network_rule_set=storage.NetworkRuleSetArgs(default_action=deny, bypass="AzureServices"),
            tags=args.tags,
            opts=child,
        )
        self.key_vault = keyvault.Vault(
            names.key_vault,
            vault_name=names.key_vault,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family="A", name="standard"),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=90,
                enable_purge_protection=True,
                public_network_access=access,
                network_acls=keyvault.NetworkRuleSetArgs(default_action=deny, bypass="AzureServices"),
            ),
            tags=args.tags,
            opts=child,
        )
        self.container_registry = containerregistry.Registry(
            names.container_registry,
            registry_name=names.container_registry,
            resource_group_name=args.resource_group_name,
            location=args.location,
            # Private endpoints need Premium.
            sku=containerregistry.SkuArgs(name="Premium" if private else "Basic"),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access=access,
            tags=args.tags,
            opts=child,
        )
        # What Microsoft documents for a workspace's user-assigned identity (infra/role-assignments.csv).
        dependencies = [
            ("storage", "Contributor", self.storage.id),
            ("storage-blob", "Storage Blob Data Contributor", self.storage.id),
            ("storage-file", "Storage File Data Privileged Contributor", self.storage.id),
            ("key-vault", "Contributor", self.key_vault.id),
            ("key-vault-admin", "Key Vault Administrator", self.key_vault.id),
            # Contributor, not AcrPush: image builds run registry tasks.
            ("registry", "Contributor", self.container_registry.id),
            ("app-insights", "Contributor", args.monitoring.app_insights.id),
        ]
        if args.posture.isolation_mode != "Disabled":
            # Approves the managed network's private endpoints to the dependencies.
            dependencies.append(("network-approver", "Azure AI Enterprise Network Connection Approver", args.resource_group_id))
        grants = [self._grant(args, what, role, scope) for what, role, scope in dependencies]
        self.workspace = ml.Workspace(
            names.workspace,
            workspace_name=names.workspace,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="Default",
            sku=ml.SkuArgs(name="Basic", tier="Basic"),
            identity=ml.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[args.identity_id]),
            primary_user_assigned_identity=args.identity_id,
            storage_account=self.storage.id,
            key_vault=self.key_vault.id,
            container_registry=self.container_registry.id,
            application_insights=args.monitoring.app_insights.id,
            # Shared keys are off: datastores authenticate with the workspace's identity.
            system_datastores_auth_mode="Identity",
            public_network_access=access,
            managed_network=managed_network(args.posture, args.registry_id),
            # Online deployments need the managed network; provisioning it takes up to 40 minutes.
            provision_network_now=True if args.posture.isolation_mode != "Disabled" else None,
            image_build_compute=args.image_build_compute,
            v1_legacy_mode=False,
            tags=args.tags,
            # The identity needs its roles before the workspace checks its dependencies.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants, protect=args.production_like),
        )
        self._grant(args, "workspace", "Contributor", self.workspace.id)
        if args.production_like:
            for target in (self.workspace, self.storage, self.key_vault, self.container_registry):
                lock(target)
        for target in (self.workspace, self.key_vault, self.container_registry):
            args.monitoring.send(target)
        args.monitoring.send(self.storage, logs=False)
        args.monitoring.send(self.storage, resource_uri=self.storage.id.apply(lambda i: f"{i}/blobServices/default"), part="blob")
        targets = [
            ("workspace", self.workspace, "amlworkspace"),
            ("blob", self.storage, "blob"),
            ("file", self.storage, "file"),
            ("vault", self.key_vault, "vault"),
            ("registry", self.container_registry, "registry"),
        ]
        # People and CI need the workspace and its storage (uploads, datastores, notebooks).
        endpoints = args.network or args.inbound
        for label, target, subresource in targets if args.network else targets[:3]:
            if endpoints is not None:
                endpoints.connect(f"{names.environment}-{label}", target.id, subresource, parent=target)
        self.register_outputs({"workspace_id": self.workspace.id})

    def _grant(self, args: WorkspaceArgs, what: str, role: str, scope: pulumi.Input[str]) -> pulumi.Resource:
        return grant(
            f"workspace-identity-{what}",
            principal_id=args.identity_principal_id,
            principal_type="ServicePrincipal",
            role=role,
            scope=scope,
            parent=self,
        )
