"""The price sheet (`infra/prices.csv`) and its refresh from the Azure Retail Prices API.

One row per region, SKU and priority: the unit price, its unit, its date and source, and whether it
is an estimate. VM rows are pay-as-you-go Linux hourly prices: Azure ML bills compute clusters and
managed online deployment instances at the VM's price (low-priority nodes at the Low Priority
meter). Where a public dataset derived from the Retail Prices API has the price (SkyPilot's
catalog, `from_catalog`), the row cites it and is no estimate; every other row (other regions,
Low Priority, the firewall, private endpoints, registries, storage, log ingestion) is marked an
estimate and names where its figure comes from. A row for region `*` applies in every region.
The API itself is public and unauthenticated; it pages with `NextPageLink`.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHEET = Path("infra") / "prices.csv"
RETAIL_API = "https://prices.azure.com/api/retail/prices"
FIELDS = ("region", "sku", "priority", "unit_price", "currency", "unit", "date", "source", "estimate", "note")
DEDICATED, LOW_PRIORITY = "dedicated", "low_priority"
ANY_REGION, NO_PRIORITY = "*", "-"


class PriceRefreshError(RuntimeError):
    """The Retail Prices API could not be read; the sheet is left as it was."""


@dataclass(frozen=True)
class Price:
    region: str
    sku: str
    priority: str
    unit_price: float
    currency: str
    unit: str
    date: str
    source: str
    estimate: bool = False
    note: str = ""


class PriceSheet:
    def __init__(self, prices: Iterable[Price]) -> None:
        self.prices = sorted(prices, key=lambda p: (p.region, p.sku.lower(), p.priority))
        self._index = {(p.region, p.sku.lower(), p.priority): p for p in self.prices}

    @classmethod
    def load(cls, path: Path) -> PriceSheet:
        with path.open(newline="") as fh:
            return cls(
                Price(**{**row, "unit_price": float(row["unit_price"]), "estimate": row["estimate"] == "true"})  # type: ignore[arg-type]
                for row in csv.DictReader(fh)
            )

    def save(self, path: Path) -> None:
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(FIELDS)
            for p in self.prices:
                writer.writerow(
                    [
                        p.region,
                        p.sku,
                        p.priority,
                        f"{p.unit_price:g}",
                        p.currency,
                        p.unit,
                        p.date,
                        p.source,
                        "true" if p.estimate else "false",
                        p.note,
                    ]
                )

    def lookup(self, region: str, sku: str, priority: str = DEDICATED) -> Price | None:
        """The region's row, else the row for every region (`*`)."""
        return self._index.get((region, sku.lower(), priority)) or self._index.get((ANY_REGION, sku.lower(), priority))

    def merged(self, newer: Iterable[Price]) -> PriceSheet:
        """This sheet with `newer` rows replacing the same (region, SKU, priority)."""
        rows = dict(self._index)
        rows.update({(p.region, p.sku.lower(), p.priority): p for p in newer})
        return PriceSheet(rows.values())


def from_catalog(text: str, source: str, date: str) -> list[Price]:
    """Prices from a SkyPilot Azure catalog (`InstanceType,...,Price,SpotPrice,Region,...`).

    `Price` is the Retail Prices API's pay-as-you-go Linux price: no estimate. The catalog has no
    Low Priority meter, only Spot: its Spot price stands in for low-priority nodes, as an estimate.
    """
    prices = []
    for row in csv.DictReader(text.splitlines()):
        common: dict[str, Any] = {
            "region": row["Region"],
            "sku": row["InstanceType"],
            "currency": "USD",
            "unit": "1 Hour",
            "date": date,
        }
        if row["Price"]:
            prices.append(Price(**common, priority=DEDICATED, unit_price=float(row["Price"]), source=source))
        if row["SpotPrice"]:
            prices.append(
                Price(
                    **common,
                    priority=LOW_PRIORITY,
                    unit_price=float(row["SpotPrice"]),
                    source=source,
                    estimate=True,
                    note="the catalog's Spot price: no Low Priority meter in the dataset",
                )
            )
    return prices


def retail_filter(region: str, skus: Iterable[str]) -> str:
    """The OData `$filter` for pay-as-you-go VM prices of some sizes in one region."""
    names = " or ".join(f"armSkuName eq '{s}'" for s in sorted(skus))
    return f"serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and armRegionName eq '{region}' and ({names})"


def parse_page(page: dict[str, Any], today: str) -> tuple[list[Price], str | None]:
    """Linux dedicated and Low Priority hourly prices from one API page, and the next page's URL."""
    prices = []
    for item in page.get("Items", []):
        sku_name, product = item.get("skuName", ""), item.get("productName", "")
        if item.get("type") != "Consumption" or item.get("unitOfMeasure") != "1 Hour":
            continue
        if "Windows" in product or "Spot" in sku_name:
            continue
        prices.append(
            Price(
                region=item["armRegionName"],
                sku=item["armSkuName"],
                priority=LOW_PRIORITY if "Low Priority" in sku_name else DEDICATED,
                unit_price=float(item["retailPrice"]),
                currency=item.get("currencyCode", "USD"),
                unit="1 Hour",
                date=today,
                source=RETAIL_API,
                note=f"retail API, meter {item.get('meterId', '')}, effective {item.get('effectiveStartDate', '')[:10]}",
            )
        )
    return prices, page.get("NextPageLink")


def fetch(regions: Iterable[str], skus: Iterable[str], get: Callable[..., Any] | None = None, batch: int = 12) -> list[Price]:
    """Query the API for every region and size, following pages. Raises PriceRefreshError."""
    import requests

    get = get or requests.get
    today = dt.date.today().isoformat()
    skus = sorted(set(skus))
    found: list[Price] = []
    for region in regions:
        for start in range(0, len(skus), batch):
            url: str | None = RETAIL_API
            params: dict[str, str] | None = {
                "api-version": "2023-01-01-preview",
                "$filter": retail_filter(region, skus[start : start + batch]),
            }
            while url:
                try:
                    response = get(url, params=params, timeout=30)
                    response.raise_for_status()
                    page = response.json()
                except (requests.RequestException, ValueError) as exc:
                    raise PriceRefreshError(f"cannot read {RETAIL_API}: {exc}; the price sheet is unchanged") from exc
                prices, url = parse_page(page, today)
                found += prices
                params = None  # NextPageLink carries the query
    return found
