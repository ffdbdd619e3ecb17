"""The Azure ML registry shared by all environments: releases are promoted through it.

It belongs to the `shared` stack, not to any environment: destroying or re-creating prod must not
take every released model with it, and the public dev environment and GitHub-hosted runners must
reach it while prod stays private (prod reaches it through a managed-network private endpoint).
It authenticates with Entra ID only; each environment's stack grants its own identities
`AzureML Registry User` on it, so the shared stack needs nothing from the environments' state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, resources
from pulumi_azure_native import machinelearningservices as ml

SHARED_STACK = "shared"


@dataclass
class RegistryArgs:
    name: str
    location: str
    #: Every region a workspace using the registry lives in: a workspace can only use a registry replicated to its region.
    regions: list[str]
    tags: dict[str, str] = field(default_factory=dict)
    #: A production-like environment promotes through it: a CanNotDelete lock on top of `protect`.
    locked: bool = False


class SharedRegistry(pulumi.ComponentResource):
    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("amlops:registry:SharedRegistry", name, None, opts)
        self.resource_group = resources.ResourceGroup(
            f"rg-{args.name}",
            resource_group_name=f"rg-{args.name}",
            location=args.location,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        regions = [args.location] + sorted(set(args.regions) - {args.location})
        self.registry = ml.Registry(
            args.name,
            registry_name=args.name,
            resource_group_name=self.resource_group.name,
            location=args.location,
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            public_network_access="Enabled",
            region_details=[
                ml.RegistryRegionArmDetailsArgs(
                    location=region,
                    storage_account_details=[
                        ml.StorageAccountDetailsArgs(
                            system_created_storage_account=ml.SystemCreatedStorageAccountArgs(
                                storage_account_type="Standard_ZRS", allow_blob_public_access=False
                            )
                        )
                    ],
                    acr_details=[
                        ml.AcrDetailsArgs(system_created_acr_account=ml.SystemCreatedAcrAccountArgs(acr_account_sku="Premium"))
                    ],
                )
                for region in regions
            ],
            tags=args.tags,
            # Every release ever promoted lives here: `pulumi destroy` must not take it.
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        if args.locked:
            authorization.ManagementLockByScope(
                f"{args.name}-lock",
                lock_name="amlops-do-not-delete",
                level="CanNotDelete",
                scope=self.registry.id,
                notes="every release promoted to a production-like environment lives here",
                opts=pulumi.ResourceOptions(parent=self.registry),
            )
        self.register_outputs({"registry_id": self.registry.id})


def shared_registry_id() -> pulumi.Output[str]:
    """The registry's id, from the shared stack's outputs (same backend and organization)."""
    reference = pulumi.StackReference(f"{pulumi.get_organization()}/{pulumi.get_project()}/{SHARED_STACK}")
    return reference.require_output("registry_id")
