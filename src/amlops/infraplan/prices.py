"""The price sheet (`infra/prices.csv`) and its refresh from the Azure Retail Prices API.

One row per region, VM size and priority: the pay-as-you-go Linux hourly price, its date and
source. Azure ML bills compute clusters and managed online deployment instances at the VM's price
(low-priority cluster nodes at the VM's Low Priority meter). The API is public and unauthenticated;
it pages with `NextPageLink`.
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
FIELDS = ("region", "sku", "priority", "unit_price", "currency", "unit", "date", "source", "note")
DEDICATED, LOW_PRIORITY = "dedicated", "low_priority"


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
    note: str = ""


class PriceSheet:
    def __init__(self, prices: Iterable[Price]) -> None:
        self.prices = sorted(prices, key=lambda p: (p.region, p.sku.lower(), p.priority))
        self._index = {(p.region, p.sku.lower(), p.priority): p for p in self.prices}

    @classmethod
    def load(cls, path: Path) -> PriceSheet:
        with path.open(newline="") as fh:
            return cls(
                Price(**{**row, "unit_price": float(row["unit_price"])})  # type: ignore[arg-type]
                for row in csv.DictReader(fh)
            )

    def save(self, path: Path) -> None:
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(FIELDS)
            for p in self.prices:
                writer.writerow(
                    [p.region, p.sku, p.priority, f"{p.unit_price:.4f}", p.currency, p.unit, p.date, p.source, p.note]
                )

    def lookup(self, region: str, sku: str, priority: str = DEDICATED) -> Price | None:
        return self._index.get((region, sku.lower(), priority))

    def merged(self, newer: Iterable[Price]) -> PriceSheet:
        """This sheet with `newer` rows replacing the same (region, SKU, priority)."""
        rows = dict(self._index)
        rows.update({(p.region, p.sku.lower(), p.priority): p for p in newer})
        return PriceSheet(rows.values())


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
