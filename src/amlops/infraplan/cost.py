"""Estimated monthly cost of an environment, from the declared program and the price sheet.

Every line a bill would have: clusters at their minimum and maximum node counts (idle and fully
busy), online deployments at instance type times count (the environment's override, else the
deployment file), the managed Azure Firewall that FQDN rules under approved-only outbound make
Azure create, each private endpoint (ours and the managed network's outbound rules), the container
registry's tier, the shared registry's per-region replication, storage and log ingestion. The last
two are usage-based: they are priced at the volumes stated in `ASSUMPTIONS`. A line priced from an
estimate row of the sheet says so; serverless endpoints are billed per token, with no fixed cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amlops.infraplan.inventory import Inventory, Resource
from amlops.infraplan.prices import DEDICATED, LOW_PRIORITY, NO_PRIORITY, PriceSheet

HOURS_PER_MONTH = 730
#: How many of a price's units one instance uses in a month.
UNITS_PER_MONTH = {"1 Hour": HOURS_PER_MONTH, "1 Day": HOURS_PER_MONTH / 24}
#: Usage the plan cannot know, stated on the lines that use it.
ASSUMPTIONS = {"storage_gb": 100, "log_ingestion_gb_per_month": 30}

ML = "azure-native:machinelearningservices"
COMPUTE, WORKSPACE, ML_REGISTRY = f"{ML}:Compute", f"{ML}:Workspace", f"{ML}:Registry"
CONTAINER_REGISTRY = "azure-native:containerregistry:Registry"
STORAGE = "azure-native:storage:StorageAccount"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"


@dataclass(frozen=True)
class CostLine:
    kind: str  # cluster | endpoint | serverless | firewall | private-endpoints | container-registry | registry | storage | logs
    name: str
    sku: str
    priority: str
    min_count: int
    max_count: int
    unit_price: float | None  # per `unit`; None: usage-priced or not in the sheet
    unit: str = "1 Hour"
    units_per_month: float = HOURS_PER_MONTH  # per instance
    note: str = ""
    price_date: str = ""
    estimate: bool = False

    @property
    def hourly(self) -> float | None:
        return self.unit_price if self.unit == "1 Hour" else None

    @property
    def monthly_min(self) -> float:
        return round((self.unit_price or 0.0) * self.units_per_month * self.min_count, 2)

    @property
    def monthly_max(self) -> float:
        return round((self.unit_price or 0.0) * self.units_per_month * self.max_count, 2)


@dataclass(frozen=True)
class Estimate:
    currency: str
    lines: list[CostLine]
    price_dates: list[str]

    @property
    def monthly_min(self) -> float:
        return round(sum(line.monthly_min for line in self.lines), 2)

    @property
    def monthly_max(self) -> float:
        return round(sum(line.monthly_max for line in self.lines), 2)

    @property
    def unpriced(self) -> list[CostLine]:
        return [line for line in self.lines if line.unit_price is None and line.kind != "serverless"]

    @property
    def estimated(self) -> list[CostLine]:
        return [line for line in self.lines if line.estimate]


def estimate(inventory: Inventory, root: Path, sheet: PriceSheet) -> Estimate:
    region = _region(inventory)
    lines = [
        *_clusters(inventory, sheet),
        *_endpoints(inventory.stack, root, sheet),
        *_network(inventory, region, sheet),
        *_registries(inventory, region, sheet),
        *_usage(inventory, region, sheet),
    ]
    return Estimate("USD", lines, sorted({line.price_date for line in lines if line.price_date}))


def _region(inventory: Inventory) -> str:
    located = [r.inputs["location"] for r in inventory.azure_resources if r.inputs.get("location") not in (None, "global")]
    return located[0] if located else ""


def _priced(
    kind: str,
    name: str,
    sku: str,
    priority: str,
    counts: tuple[int, int],
    region: str,
    sheet: PriceSheet,
    *,
    units: float | None = None,
    note: str = "",
) -> CostLine:
    price = sheet.lookup(region, sku, priority)
    if price is None:
        return CostLine(kind, name, sku, priority, *counts, None, note=f"no price for {sku} ({priority}) in {region}")
    notes = "; ".join(filter(None, [note, price.note if price.estimate else ""]))
    return CostLine(
        kind,
        name,
        sku,
        priority,
        *counts,
        price.unit_price,
        price.unit,
        units if units is not None else UNITS_PER_MONTH.get(price.unit, 1.0),
        notes,
        price.date,
        price.estimate,
    )


def _clusters(inventory: Inventory, sheet: PriceSheet) -> list[CostLine]:
    lines = []
    for compute in inventory.of_type(COMPUTE):
        aml = compute.inputs["properties"]["properties"]
        scale = aml["scaleSettings"]
        priority = LOW_PRIORITY if aml.get("vmPriority") == "LowPriority" else DEDICATED
        counts = (int(scale.get("minNodeCount", 0)), int(scale["maxNodeCount"]))
        lines.append(_priced("cluster", compute.azure_name, aml["vmSize"], priority, counts, compute.inputs["location"], sheet))
    return lines


def _endpoints(stack: str, root: Path, sheet: PriceSheet) -> list[CostLine]:
    from amlops.manifests import load_repository
    from amlops.manifests.environment import EndpointChoice

    repository, _ = load_repository(root)
    loaded = repository.environments.get(stack)
    if loaded is None or loaded.environment.azure is None:
        return []
    env = loaded.environment
    region = loaded.environment.azure.location
    lines = []
    for endpoint, choice in sorted(env.endpoints.items()):
        if not isinstance(choice, EndpointChoice):
            lines.append(
                CostLine("serverless", endpoint, "", "", 0, 0, None, note="usage-priced: billed per token, no fixed cost")
            )
            continue
        folder = repository.endpoints.get(endpoint)
        for name, deployment in sorted(choice.deployments.items()):
            spec = folder.deployments[name].deployment if folder and name in folder.deployments else None
            sku = deployment.instance_type or (spec.instance_type if spec else None)
            count = deployment.instance_count or (spec.instance_count if spec else None) or 1
            if not sku:
                lines.append(
                    CostLine(
                        "endpoint",
                        f"{endpoint}/{name}",
                        "",
                        DEDICATED,
                        count,
                        count,
                        None,
                        note="no instance type: deployment file missing",
                    )
                )
                continue
            counts, note = (count, count), ""
            if deployment.autoscale is not None:  # Azure Monitor may scale it up to the most any profile allows
                counts = (deployment.autoscale.min_instances, deployment.autoscale.peak_instances)
                note = f"autoscale {counts[0]}-{counts[1]} instances: at most {counts[1]}"
            lines.append(_priced("endpoint", f"{endpoint}/{name}", sku, DEDICATED, counts, region, sheet, note=note))
    return lines


def _network(inventory: Inventory, region: str, sheet: PriceSheet) -> list[CostLine]:
    """The managed firewall of FQDN rules, and every private endpoint (ours and managed ones)."""
    lines = []
    managed = 0
    for workspace in inventory.of_type(WORKSPACE):
        network = workspace.inputs.get("managedNetwork") or {}
        rules = (network.get("outboundRules") or {}).values()
        managed += sum(1 for rule in rules if rule.get("type") == "PrivateEndpoint")
        if network.get("isolationMode") == "AllowOnlyApprovedOutbound" and any(r.get("type") == "FQDN" for r in rules):
            sku = network.get("firewallSku") or "Standard"  # Azure's default
            lines.append(
                _priced(
                    "firewall",
                    workspace.azure_name,
                    f"azure-firewall-{sku}",
                    NO_PRIORITY,
                    (1, 1),
                    region,
                    sheet,
                    note="FQDN outbound rules make Azure run a managed Azure Firewall",
                )
            )
    endpoints = len(inventory.of_type(PRIVATE_ENDPOINT)) + managed
    if endpoints:
        lines.append(
            _priced(
                "private-endpoints",
                f"{endpoints} endpoints",
                "private-endpoint",
                NO_PRIORITY,
                (endpoints, endpoints),
                region,
                sheet,
                note=f"{endpoints - managed} in our networks, {managed} from outbound rules; Azure ML's own not counted",
            )
        )
    return lines


def _registries(inventory: Inventory, region: str, sheet: PriceSheet) -> list[CostLine]:
    """The workspace's container registry tier; the shared registry's container registry in every region."""
    lines = [
        _priced(
            "container-registry",
            acr.azure_name,
            f"container-registry-{acr.inputs['sku']['name']}",
            NO_PRIORITY,
            (1, 1),
            region,
            sheet,
        )
        for acr in inventory.of_type(CONTAINER_REGISTRY)
    ]
    for registry in inventory.of_type(ML_REGISTRY):
        regions = registry.inputs.get("regionDetails") or []
        skus = {
            ((acr.get("systemCreatedAcrAccount") or {}).get("acrAccountSku") or "Premium")
            for r in regions
            for acr in r.get("acrDetails") or []
        }
        for sku in sorted(skus):
            lines.append(
                _priced(
                    "registry",
                    registry.azure_name,
                    f"container-registry-{sku}",
                    NO_PRIORITY,
                    (len(regions), len(regions)),
                    region,
                    sheet,
                    note=f"replicated to {len(regions)} region(s): a registry unit each",
                )
            )
    return lines


def _usage(inventory: Inventory, region: str, sheet: PriceSheet) -> list[CostLine]:
    storage_gb, log_gb = ASSUMPTIONS["storage_gb"], ASSUMPTIONS["log_ingestion_gb_per_month"]
    lines = [_storage(account, region, sheet, storage_gb) for account in inventory.of_type(STORAGE)]
    for log in inventory.of_type(LOG_ANALYTICS):
        sku = (log.inputs.get("sku") or {}).get("name", "PerGB2018")
        lines.append(
            _priced(
                "logs",
                log.azure_name,
                f"log-analytics-{sku}",
                NO_PRIORITY,
                (1, 1),
                region,
                sheet,
                units=log_gb,
                note=f"assumes {log_gb} GB ingested per month",
            )
        )
    return lines


def _storage(account: Resource, region: str, sheet: PriceSheet, gigabytes: int) -> CostLine:
    sku = (account.inputs.get("sku") or {}).get("name", "Standard_LRS")
    return _priced(
        "storage",
        account.azure_name,
        f"storage-{sku}",
        NO_PRIORITY,
        (1, 1),
        region,
        sheet,
        units=gigabytes,
        note=f"assumes {gigabytes} GB stored",
    )
