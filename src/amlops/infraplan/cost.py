"""Estimated monthly cost of an environment, from the declared program and the price sheet.

Clusters are priced at their minimum and maximum node counts (what idle and fully busy cost),
online deployments at instance type times count (the environment's override, else the deployment
file), serverless endpoints as usage-priced (per token, no fixed cost). Storage, registry and
log ingestion are usage-based and not estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amlops.infraplan.inventory import Inventory
from amlops.infraplan.prices import DEDICATED, LOW_PRIORITY, PriceSheet

HOURS_PER_MONTH = 730
COMPUTE = "azure-native:machinelearningservices:Compute"


@dataclass(frozen=True)
class CostLine:
    kind: str  # cluster | endpoint | serverless
    name: str
    sku: str
    priority: str
    min_count: int
    max_count: int
    hourly: float | None  # per instance; None: usage-priced or not in the sheet
    note: str = ""
    price_date: str = ""

    @property
    def monthly_min(self) -> float:
        return round((self.hourly or 0.0) * self.min_count * HOURS_PER_MONTH, 2)

    @property
    def monthly_max(self) -> float:
        return round((self.hourly or 0.0) * self.max_count * HOURS_PER_MONTH, 2)


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
        return [line for line in self.lines if line.hourly is None and line.kind != "serverless"]


def estimate(inventory: Inventory, root: Path, sheet: PriceSheet) -> Estimate:
    lines = [*_clusters(inventory, sheet), *_endpoints(inventory.stack, root, sheet)]
    return Estimate("USD", lines, sorted({line.price_date for line in lines if line.price_date}))


def _priced(kind: str, name: str, sku: str, priority: str, counts: tuple[int, int], region: str, sheet: PriceSheet) -> CostLine:
    price = sheet.lookup(region, sku, priority)
    if price is None:
        return CostLine(kind, name, sku, priority, *counts, None, f"no price for {sku} ({priority}) in {region}")
    return CostLine(kind, name, sku, priority, *counts, price.unit_price, price_date=price.date)


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
            lines.append(CostLine("serverless", endpoint, "", "", 0, 0, None, "usage-priced: billed per token, no fixed cost"))
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
                        "no instance type: deployment file missing",
                    )
                )
                continue
            lines.append(_priced("endpoint", f"{endpoint}/{name}", sku, DEDICATED, (count, count), region, sheet))
    return lines
