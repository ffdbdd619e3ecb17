"""The Azure ML workspace and the resources it depends on: storage, Key Vault, container registry.

Secure by default whatever the network mode: no shared keys (the workspace reaches its storage
with its managed identity), an RBAC Key Vault with purge protection, no registry admin user, TLS 1.2.
Private modes also switch public network access off on all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from identity import grant
from monitoring import Monitoring
from naming import Names
from network import Posture, VirtualNetwork, managed_network
from pulumi_azure_native import containerregistry, keyvault, storage
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
    #: `vnet` mode: where the private endpoints go.
    network: VirtualNetwork | None = None
    #: The shared Azure ML registry, reached through the managed network in approved-outbound mode.
    registry_id: pulumi.Input[str] | None = None
    tags: dict[str, str] = field(default_factory=dict)


class Workspace(pulumi.ComponentResource):
    def __init__(self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("amlops:workspace:Workspace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names, access, private = args.names, args.posture.access, not args.posture.public_network_access
        deny = "Deny" if private else "Allow"

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
        dependencies = {
            "storage-blob": ("Storage Blob Data Contributor", self.storage),
            "storage-file": ("Storage File Data Privileged Contributor", self.storage),
            "key-vault": ("Key Vault Administrator", self.key_vault),
            "registry": ("AcrPush", self.container_registry),
        }
        grants = [
            grant(
                f"workspace-identity-{what}",
                principal_id=args.identity_principal_id,
                principal_type="ServicePrincipal",
                role=role,
                scope=target.id,
                parent=self,
            )
            for what, (role, target) in dependencies.items()
        ]
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
            system_datastores_auth_mode="identity",
            public_network_access=access,
            managed_network=managed_network(args.posture, args.registry_id),
            v1_legacy_mode=False,
            tags=args.tags,
            # The identity needs its roles before the workspace checks its dependencies.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        for target in (self.workspace, self.key_vault, self.container_registry):
            args.monitoring.send(target)
        args.monitoring.send(self.storage, logs=False)
        args.monitoring.send(self.storage, resource_uri=self.storage.id.apply(lambda i: f"{i}/blobServices/default"), part="blob")
        if args.network is not None:
            targets = [
                ("workspace", self.workspace, "amlworkspace"),
                ("blob", self.storage, "blob"),
                ("file", self.storage, "file"),
                ("vault", self.key_vault, "vault"),
                ("registry", self.container_registry, "registry"),
            ]
            for label, target, subresource in targets:
                args.network.connect(f"{names.environment}-{label}", target.id, subresource, parent=target)
        self.register_outputs({"workspace_id": self.workspace.id})
