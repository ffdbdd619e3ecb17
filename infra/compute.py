"""AmlCompute clusters from the manifest: scale to zero when idle, private nodes in private modes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import machinelearningservices as ml


@dataclass
class ComputeArgs:
    resource_group_name: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    location: str
    clusters: list[Any]  # the manifest's Cluster models
    identity_id: pulumi.Input[str]
    node_public_ip: bool
    #: `vnet` mode: the subnet the nodes join.
    subnet_id: pulumi.Input[str] | None = None
    tags: dict[str, str] = field(default_factory=dict)


class ComputeClusters(pulumi.ComponentResource):
    """One AmlCompute per manifest cluster, named `<name>-<size hash>` so a resize is a new cluster."""

    def __init__(self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("amlops:compute:ComputeClusters", name, None, opts)
        self.clusters: dict[str, ml.Compute] = {}
        for cluster in args.clusters:
            azure_name = cluster.azure_name
            self.clusters[cluster.name] = ml.Compute(
                azure_name,
                compute_name=azure_name,
                workspace_name=args.workspace_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                # Jobs reach storage as the workspace's identity: there are no keys to fall back on.
                identity=ml.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[args.identity_id]),
                properties=ml.AmlComputeArgs(
                    compute_type="AmlCompute",
                    disable_local_auth=True,
                    properties=ml.AmlComputePropertiesArgs(
                        vm_size=cluster.vm_size,
                        vm_priority="LowPriority" if cluster.low_priority else "Dedicated",
                        os_type="Linux",
                        enable_node_public_ip=args.node_public_ip,
                        remote_login_port_public_access="Disabled",
                        subnet=ml.ResourceIdArgs(id=args.subnet_id) if args.subnet_id is not None else None,
                        scale_settings=ml.ScaleSettingsArgs(
                            min_node_count=cluster.min_nodes,
                            max_node_count=cluster.max_nodes,
                            node_idle_time_before_scale_down=f"PT{cluster.idle_seconds}S",
                        ),
                    ),
                ),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"clusters": {k: v.name for k, v in self.clusters.items()}})
