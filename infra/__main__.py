"""The amlops infrastructure program.

Stack `<env>` deploys `environments/<env>.yaml`, the single source of truth: its subscription and
region build the one explicit provider every resource uses, its infrastructure section everything
else. Stack `shared` deploys the Azure ML registry the environments promote releases through.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_azure_native as azure_native
from compute import ComputeArgs, ComputeClusters
from identity import Access, AccessArgs, Identities, IdentitiesArgs, TeamGrant
from monitoring import Monitoring, MonitoringArgs
from naming import Names
from network import VirtualNetwork, VirtualNetworkArgs, posture
from pulumi_azure_native import resources
from registry import SHARED_STACK, RegistryArgs, SharedRegistry, shared_registry_id
from workspace import Workspace, WorkspaceArgs

from amlops.manifests import Environment, load_environment

ROOT = Path(__file__).resolve().parent.parent


def required_tags(environment: str, owner: str, cost_center: str, production_like: bool) -> dict[str, str]:
    """`tier` is what the policy pack reads to hold an environment to production rules."""
    tier = "production" if production_like else "non-production"
    return {"environment": environment, "owner": owner, "cost-center": cost_center, "tier": tier, "managed-by": "pulumi"}


def azure_environments() -> list[Environment]:
    stems = sorted(p.stem for p in (ROOT / "environments").glob("*.y*ml"))
    return [e for e in (load_environment(ROOT, s) for s in stems) if e.infrastructure is not None]


def deploy_shared() -> None:
    provider_config = pulumi.Config("azure-native")
    location = provider_config.require("location")
    provider = azure_native.Provider("shared", subscription_id=provider_config.require("subscriptionId"), location=location)
    users = azure_environments()
    names = {e.infrastructure.registry for e in users}
    owners = {(e.infrastructure.tags.owner, e.infrastructure.tags.cost_center) for e in users}
    if len(names) != 1 or len(owners) != 1:
        raise ValueError(
            f"environments must share one registry and one owner; found registries {sorted(names)}, owners {sorted(owners)}"
        )
    (name,), ((owner, cost_center),) = names, owners
    production_like = any(e.infrastructure.production_like for e in users)
    shared = SharedRegistry(
        "registry",
        RegistryArgs(
            name,
            location,
            [e.azure.location for e in users],
            required_tags(SHARED_STACK, owner, cost_center, production_like),
            locked=production_like,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    pulumi.export("subscription_id", provider_config.require("subscriptionId"))
    pulumi.export("resource_group", shared.resource_group.name)
    pulumi.export("registry_name", shared.registry.name)
    pulumi.export("registry_id", shared.registry.id)


def deploy_environment(env: Environment) -> None:
    if env.azure is None or env.infrastructure is None:
        raise ValueError(f"environment {env.name!r} runs on {env.platform.value}: there is no Azure infrastructure to deploy")
    azure, infra = env.azure, env.infrastructure
    names = Names(
        env.name, azure.subscription_id, azure.resource_group, azure.workspace, pulumi.Config().get_int("generation") or 1
    )
    tags = required_tags(env.name, infra.tags.owner, infra.tags.cost_center, infra.production_like)
    provider = azure_native.Provider(
        "azure", subscription_id=azure.subscription_id, tenant_id=azure.tenant_id, location=azure.location
    )
    opts = pulumi.ResourceOptions(providers=[provider])
    net = posture(infra.network)
    registry_id = shared_registry_id()

    group = resources.ResourceGroup(
        azure.resource_group,
        resource_group_name=azure.resource_group,
        location=azure.location,
        tags=tags,
        opts=pulumi.ResourceOptions(provider=provider),
    )
    vnet = (
        VirtualNetwork(
            "network",
            VirtualNetworkArgs(group.name, azure.location, names.virtual_network, infra.network.address_space, tags),
            opts,
        )
        if net.mode == "vnet"
        else None
    )
    inbound = (
        VirtualNetwork(
            "access-network",
            VirtualNetworkArgs(
                group.name,
                azure.location,
                names.access_network,
                net.inbound_address_space,
                tags,
                workload_subnet="runners",
                subresources=("amlworkspace", "blob", "file"),
            ),
            opts,
        )
        if net.inbound_address_space
        else None
    )
    builder = next((c for c in infra.clusters if c.name == infra.image_build_cluster), None)
    monitoring = Monitoring(
        "monitoring", MonitoringArgs(group.name, azure.location, names.log_analytics, names.app_insights, tags=tags), opts
    )
    github = (infra.ci.repository, infra.ci.github_environment) if infra.ci else None
    identities = Identities(
        "identities",
        IdentitiesArgs(
            group.name, azure.location, names.workspace_identity, names.ci_identity, github, tags, names.evaluate_identity
        ),
        opts,
    )
    workspace = Workspace(
        "workspace",
        WorkspaceArgs(
            names,
            group.name,
            azure.location,
            azure.tenant_id,
            net,
            identities.workspace.id,
            identities.workspace.principal_id,
            monitoring,
            group.id,
            vnet,
            inbound,
            registry_id,
            builder.azure_name if builder else None,
            infra.production_like,
            tags,
        ),
        opts,
    )
    compute = ComputeClusters(
        "compute",
        ComputeArgs(
            group.name,
            workspace.workspace.name,
            azure.location,
            list(infra.clusters),
            identities.workspace.id,
            node_public_ip=net.node_public_ip,
            subnet_id=vnet.workload_subnet.id if vnet else None,
            tags=tags,
        ),
        opts,
    )
    Access(
        "access",
        AccessArgs(
            resource_group_id=group.id,
            workspace_id=workspace.workspace.id,
            storage_id=workspace.storage.id,
            teams=[TeamGrant(a.group, a.name, a.role.value, a.scope) for a in infra.access],
            ci_principal_id=identities.ci.principal_id if identities.ci else None,
            evaluate_principal_id=identities.evaluate.principal_id if identities.evaluate else None,
            registry_id=registry_id,
            workspace_principal_id=identities.workspace.principal_id,
            registry_outbound_rule=net.registry_outbound_rule,
            autoscale=env.autoscales,
        ),
        opts,
    )

    pulumi.export("environment", env.name)
    pulumi.export("subscription_id", azure.subscription_id)
    pulumi.export("tenant_id", azure.tenant_id)
    pulumi.export("location", azure.location)
    pulumi.export("resource_group", group.name)
    pulumi.export("workspace_name", workspace.workspace.name)
    pulumi.export("workspace_id", workspace.workspace.id)
    pulumi.export("registry_name", infra.registry)
    pulumi.export("registry_id", registry_id)
    pulumi.export("clusters", {name: cluster.name for name, cluster in compute.clusters.items()})
    pulumi.export(
        "workspace_identity",
        {
            "id": identities.workspace.id,
            "client_id": identities.workspace.client_id,
            "principal_id": identities.workspace.principal_id,
        },
    )
    if identities.ci:
        # GitHub: AZURE_CLIENT_ID of the `azure/login` step in this GitHub environment.
        pulumi.export("ci_identity", {"client_id": identities.ci.client_id, "principal_id": identities.ci.principal_id})
    if identities.evaluate:
        # GitHub: this stack's entry of AZURE_EVALUATE_CLIENT_IDS, for the pull requests' evaluate job.
        evaluate = identities.evaluate
        pulumi.export("evaluate_identity", {"client_id": evaluate.client_id, "principal_id": evaluate.principal_id})
    pulumi.export("log_analytics_workspace_id", monitoring.log_analytics.id)
    if inbound:
        # Where the self-hosted deploy runners go (docs/infrastructure.md).
        pulumi.export("runner_subnet_id", inbound.workload_subnet.id)


if pulumi.get_stack() == SHARED_STACK:
    deploy_shared()
else:
    deploy_environment(load_environment(ROOT, pulumi.get_stack()))
