"""Networking: what each manifest mode means, and the virtual network of `vnet` mode.

- `managed`: the workspace's managed virtual network (Azure runs it), provisioned with the
  workspace so that the first deployment finds it ready; public access off. With
  `allow_only_approved_outbound`, only the manifest's outbound rules (and Azure ML's required ones)
  leave it. People and CI come in through `inbound`: a virtual network of ours holding private
  endpoints of the workspace and its storage, and the self-hosted deploy runners.
- `vnet`: our own virtual network: a subnet for clusters, a subnet for private endpoints of the
  workspace, storage (blob, file), Key Vault and the container registry, with private DNS zones.
- `public`: public endpoints and node IPs, for a throwaway dev environment only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import network, privatedns

ISOLATION = {
    "allow_internet_outbound": "AllowInternetOutbound",
    "allow_only_approved_outbound": "AllowOnlyApprovedOutbound",
}

#: Private DNS zones per private-link sub-resource (Azure public cloud), from
#: https://learn.microsoft.com/azure/private-link/private-endpoint-dns (the mocks check these).
DNS_ZONES: dict[str, list[str]] = {
    "amlworkspace": ["privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"],
    "blob": ["privatelink.blob.core.windows.net"],
    "file": ["privatelink.file.core.windows.net"],
    "vault": ["privatelink.vaultcore.azure.net"],
    "registry": ["privatelink.azurecr.io"],
}


@dataclass(frozen=True)
class Posture:
    """How exposed an environment is, derived once from its network mode."""

    mode: str
    public_network_access: bool
    isolation_mode: str  # the workspace's managed network: Disabled | AllowInternetOutbound | AllowOnlyApprovedOutbound
    node_public_ip: bool
    outbound_rules: list[Any] = field(default_factory=list)  # the manifest's OutboundRule models
    inbound_address_space: str | None = None  # managed mode: the access network

    @property
    def registry_outbound_rule(self) -> bool:
        """Whether the workspace reaches the shared registry through a managed private endpoint."""
        return self.isolation_mode == "AllowOnlyApprovedOutbound"

    @property
    def access(self) -> str:
        return "Enabled" if self.public_network_access else "Disabled"


def posture(manifest_network: Any) -> Posture:
    mode = manifest_network.mode.value
    if mode == "public":
        return Posture(mode, True, "Disabled", True)
    if mode == "vnet":
        return Posture(mode, False, "Disabled", False)
    inbound = manifest_network.inbound.address_space if manifest_network.inbound else None
    return Posture(
        mode, False, ISOLATION[manifest_network.isolation.value], False, list(manifest_network.outbound_rules), inbound
    )


def managed_network(p: Posture, registry_id: pulumi.Input[str] | None) -> ml.ManagedNetworkSettingsArgs | None:
    """The workspace's managed network; with approved outbound only, a private endpoint to the registry too."""
    if p.isolation_mode == "Disabled":
        return None
    rules: dict[str, Any] = {r.name: _outbound_rule(r) for r in p.outbound_rules}
    if p.registry_outbound_rule and registry_id is not None:
        rules["shared-registry"] = ml.PrivateEndpointOutboundRuleArgs(
            type="PrivateEndpoint",
            category="UserDefined",
            destination=ml.PrivateEndpointDestinationArgs(service_resource_id=registry_id, subresource_target="amlregistry"),
        )
    return ml.ManagedNetworkSettingsArgs(isolation_mode=p.isolation_mode, outbound_rules=rules or None)


def _outbound_rule(rule: Any) -> Any:
    if rule.type == "fqdn":
        return ml.FqdnOutboundRuleArgs(type="FQDN", category="UserDefined", destination=rule.destination)
    if rule.type == "service_tag":
        return ml.ServiceTagOutboundRuleArgs(
            type="ServiceTag",
            category="UserDefined",
            destination=ml.ServiceTagDestinationArgs(
                service_tag=rule.destination, protocol=rule.protocol or "TCP", port_ranges=rule.ports or "443", action="Allow"
            ),
        )
    if not rule.subresource:  # `amlops validate` says where; Azure refuses a rule without a target
        raise ValueError(f"outbound rule {rule.name!r}: a private_endpoint rule needs subresource")
    return ml.PrivateEndpointOutboundRuleArgs(
        type="PrivateEndpoint",
        category="UserDefined",
        destination=ml.PrivateEndpointDestinationArgs(service_resource_id=rule.destination, subresource_target=rule.subresource),
    )


def subnet_prefixes(address_space: str) -> tuple[str, str]:
    """The first two /24 blocks (quarters of a smaller space): (training or runners, private endpoints)."""
    space = ipaddress.ip_network(address_space)
    blocks = space.subnets(new_prefix=max(space.prefixlen + 2, 24) if space.prefixlen <= 22 else space.prefixlen + 2)
    return str(next(blocks)), str(next(blocks))


@dataclass
class VirtualNetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    name: str
    address_space: str
    tags: dict[str, str] = field(default_factory=dict)
    #: What the first subnet holds: cluster nodes (`vnet` mode) or the deploy runners (access network).
    workload_subnet: str = "training"
    #: The private-link sub-resources endpoints will be made for: their DNS zones are created.
    subresources: tuple[str, ...] = tuple(DNS_ZONES)


class VirtualNetwork(pulumi.ComponentResource):
    """A network of ours: a workload subnet and a private-endpoint subnet, NSGs, and private DNS.

    In `vnet` mode it holds the clusters and every dependency's endpoint; in `managed` mode it is
    the access network, with the workspace's and storage's endpoints and the deploy runners.
    """

    def __init__(self, name: str, args: VirtualNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("amlops:network:VirtualNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._args = args
        self.vnet = network.VirtualNetwork(
            args.name,
            virtual_network_name=args.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
            tags=args.tags,
            opts=child,
        )
        workload, endpoints = subnet_prefixes(args.address_space)
        self.workload_subnet = self._subnet(args.workload_subnet, workload)
        self.endpoint_subnet = self._subnet("private-endpoints", endpoints)
        self.zones: dict[str, privatedns.PrivateZone] = {}
        for zone in sorted({z for subresource in args.subresources for z in DNS_ZONES[subresource]}):
            self.zones[zone] = privatedns.PrivateZone(
                zone,
                private_zone_name=zone,
                resource_group_name=args.resource_group_name,
                location="global",
                tags=args.tags,
                opts=child,
            )
            privatedns.VirtualNetworkLink(
                f"{zone}-link",
                virtual_network_link_name=args.name,
                private_zone_name=zone,
                resource_group_name=args.resource_group_name,
                location="global",
                registration_enabled=False,
                virtual_network=privatedns.SubResourceArgs(id=self.vnet.id),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self.zones[zone]),
            )
        self.register_outputs({"vnet_id": self.vnet.id})

    def _subnet(self, purpose: str, prefix: str) -> network.Subnet:
        nsg = network.NetworkSecurityGroup(
            f"nsg-{self._args.name}-{purpose}",
            network_security_group_name=f"nsg-{self._args.name}-{purpose}",
            resource_group_name=self._args.resource_group_name,
            location=self._args.location,
            tags=self._args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return network.Subnet(
            f"{self._args.name}-{purpose}",
            subnet_name=purpose,
            virtual_network_name=self.vnet.name,
            resource_group_name=self._args.resource_group_name,
            address_prefix=prefix,
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
            private_endpoint_network_policies="Enabled",
            opts=pulumi.ResourceOptions(parent=self.vnet),
        )

    def connect(
        self, name: str, resource_id: pulumi.Input[str], subresource: str, parent: pulumi.Resource
    ) -> network.PrivateEndpoint:
        """A private endpoint for one sub-resource of `resource_id`, registered in its DNS zones."""
        endpoint = network.PrivateEndpoint(
            f"pe-{name}",
            private_endpoint_name=f"pe-{name}",
            resource_group_name=self._args.resource_group_name,
            location=self._args.location,
            subnet=network.SubnetArgs(id=self.endpoint_subnet.id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(name=name, private_link_service_id=resource_id, group_ids=[subresource])
            ],
            tags=self._args.tags,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        network.PrivateDnsZoneGroup(
            f"pe-{name}-dns",
            private_dns_zone_group_name="default",
            private_endpoint_name=endpoint.name,
            resource_group_name=self._args.resource_group_name,
            private_dns_zone_configs=[
                network.PrivateDnsZoneConfigArgs(name=zone.replace(".", "-"), private_dns_zone_id=self.zones[zone].id)
                for zone in DNS_ZONES[subresource]
            ],
            opts=pulumi.ResourceOptions(parent=endpoint),
        )
        return endpoint
