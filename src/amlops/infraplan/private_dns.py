"""Private endpoints as Azure accepts them: the group id each target offers, and the DNS zones it needs.

From Microsoft's "Azure Private Endpoint private DNS zone values" (Azure public cloud),
https://learn.microsoft.com/azure/private-link/private-endpoint-dns, for the services amlops uses.
An endpoint whose group id its target does not offer is refused by Azure; one registered in the
wrong zone, or missing one, resolves to the public address and fails once public access is off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amlops.infraplan.inventory import Inventory


class PrivateEndpointError(ValueError):
    """A private endpoint Azure refuses, or DNS that cannot resolve it."""


SOURCE = "https://learn.microsoft.com/azure/private-link/private-endpoint-dns"

#: Pulumi type of the target -> group id (sub-resource) -> the private DNS zones it needs.
ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    # Microsoft.MachineLearningServices/workspaces
    "azure-native:machinelearningservices:Workspace": {
        "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
    },
    # Microsoft.MachineLearningServices/registries
    "azure-native:machinelearningservices:Registry": {"amlregistry": ("privatelink.api.azureml.ms",)},
    # Microsoft.Storage/storageAccounts
    "azure-native:storage:StorageAccount": {
        "blob": ("privatelink.blob.core.windows.net",),
        "file": ("privatelink.file.core.windows.net",),
        "queue": ("privatelink.queue.core.windows.net",),
        "table": ("privatelink.table.core.windows.net",),
        "dfs": ("privatelink.dfs.core.windows.net",),
        "web": ("privatelink.web.core.windows.net",),
    },
    # Microsoft.KeyVault/vaults
    "azure-native:keyvault:Vault": {"vault": ("privatelink.vaultcore.azure.net",)},
    # Microsoft.ContainerRegistry/registries
    "azure-native:containerregistry:Registry": {"registry": ("privatelink.azurecr.io",)},
}

ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ZONE = "azure-native:privatedns:PrivateZone"


def check(inventory: Inventory) -> None:
    """Raise PrivateEndpointError for an endpoint Azure would refuse or a zone group that cannot resolve it."""
    by_id = {r.id: r for r in inventory.azure_resources}
    groups = {g.inputs.get("privateEndpointName"): g for g in inventory.of_type(ZONE_GROUP)}
    for endpoint in inventory.of_type(ENDPOINT):
        for connection in endpoint.inputs.get("privateLinkServiceConnections", []):
            target = by_id.get(connection.get("privateLinkServiceId", ""))
            offered = ZONES.get(target.type, {}) if target else {}
            (group_id,) = connection.get("groupIds") or [None]
            if group_id not in offered:
                what = target.type if target else connection.get("privateLinkServiceId")
                raise PrivateEndpointError(
                    f"private endpoint {endpoint.name}: {what} offers group ids {sorted(offered)}, not {group_id!r} ({SOURCE})"
                )
            group = groups.get(endpoint.azure_name)
            zones = sorted(
                by_id[c["privateDnsZoneId"]].azure_name
                for c in (group.inputs.get("privateDnsZoneConfigs", []) if group else [])
                if c.get("privateDnsZoneId") in by_id
            )
            if zones != sorted(offered[group_id]):
                raise PrivateEndpointError(
                    f"private endpoint {endpoint.name} ({group_id}) is registered in DNS zones {zones}; "
                    f"Azure resolves it through {sorted(offered[group_id])} ({SOURCE})"
                )
    for zone in inventory.of_type(ZONE):
        known = {z for offers in ZONES.values() for zs in offers.values() for z in zs}
        if zone.azure_name not in known:
            raise PrivateEndpointError(
                f"private DNS zone {zone.azure_name!r} is no private-link zone of {sorted(known)} ({SOURCE})"
            )
