"""Cost estimates, the price sheet, and its sources: SkyPilot's catalog (recorded rows) and the Retail Prices API."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import requests
from infra_support import ROOT, edit_environment, stack

from amlops.infraplan.cost import ASSUMPTIONS, HOURS_PER_MONTH, estimate
from amlops.infraplan.inventory import evaluate
from amlops.infraplan.prices import (
    DEDICATED,
    LOW_PRIORITY,
    SHEET,
    PriceRefreshError,
    PriceSheet,
    fetch,
    from_catalog,
    parse_page,
    retail_filter,
)
from amlops.manifests.skus import VM_SIZES

SHEET_NOW = PriceSheet.load(ROOT / SHEET)
CATALOG = Path(__file__).parent / "data" / "skypilot-az_ml_vms-a7fff17.csv"
CATALOG_SOURCE = "https://github.com/skypilot-org/skypilot-catalog/blob/a7fff1712e3b45ac6f26289f2515503b8b30f76a/catalogs/v5/azure/az_ml_vms.csv"


def api_page() -> dict:
    """A Retail Prices API page in the documented response shape
    (learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices), whose prices
    are the recorded catalog's eastus rows for DS3_v2 and NC24ads_A100_v4, plus the kinds of item
    the parser must skip (Windows, Spot, a monthly meter)."""
    rows = {r["InstanceType"]: r for r in csv.DictReader(CATALOG.read_text().splitlines())}

    def item(sku: str, price: str, sku_name: str, product: str, unit: str = "1 Hour") -> dict:
        return {
            "currencyCode": "USD",
            "retailPrice": float(price),
            "armRegionName": "eastus",
            "armSkuName": sku,
            "skuName": sku_name,
            "productName": product,
            "serviceName": "Virtual Machines",
            "unitOfMeasure": unit,
            "type": "Consumption",
            "effectiveStartDate": "2024-05-01T00:00:00Z",
        }

    ds3, a100 = rows["Standard_DS3_v2"], rows["Standard_NC24ads_A100_v4"]
    return {
        "BillingCurrency": "USD",
        "Items": [
            item("Standard_DS3_v2", ds3["Price"], "DS3 v2", "Virtual Machines DSv2 Series"),
            item("Standard_DS3_v2", ds3["SpotPrice"], "DS3 v2 Spot", "Virtual Machines DSv2 Series"),
            item("Standard_DS3_v2", "0.5", "DS3 v2", "Virtual Machines DSv2 Series Windows"),
            item("Standard_DS3_v2", "200", "DS3 v2", "Virtual Machines DSv2 Series", unit="1/Month"),
            item("Standard_NC24ads_A100_v4", a100["Price"], "NC24ads A100 v4", "NCads A100 v4 Series"),
        ],
        "NextPageLink": "https://prices.azure.com/api/retail/prices?$skip=100",
    }


def price(region: str, sku: str, priority: str = "dedicated") -> float:
    found = SHEET_NOW.lookup(region, sku, priority)
    assert found is not None
    return found.unit_price


def test_every_row_has_a_source_a_date_and_says_whether_it_is_an_estimate() -> None:
    assert len(SHEET_NOW.prices) > 150
    for row in SHEET_NOW.prices:
        assert row.source.startswith("https://") and dt.date.fromisoformat(row.date) and row.unit_price > 0
        assert row.estimate or row.source == CATALOG_SOURCE, row  # only the dataset's rows are not estimates
        assert not row.estimate or row.note, row  # an estimate says what it rests on


def test_dataset_rows_are_the_recorded_catalog_rows() -> None:
    recorded = {(p.region, p.sku, p.priority): p.unit_price for p in from_catalog(CATALOG.read_text(), CATALOG_SOURCE, "")}
    dataset = {(p.region, p.sku, p.priority): p.unit_price for p in SHEET_NOW.prices if not p.estimate}
    assert dataset == {k: v for k, v in recorded.items() if k[2] == DEDICATED}
    # checked by hand against the catalog (and ../shared/notes/azure-ml-requirements.md)
    assert (dataset[("eastus", "Standard_DS3_v2", DEDICATED)], dataset[("eastus", "Standard_NC24ads_A100_v4", DEDICATED)]) == (
        0.293,
        3.673,
    )


def test_regions_and_meters_without_a_dataset_are_estimates() -> None:
    for size in VM_SIZES.values():
        if SHEET_NOW.lookup("eastus", size.name) is None:  # the NV A10 sizes are not in the catalog
            assert SHEET_NOW.lookup("westeurope", size.name) is None
            continue
        assert SHEET_NOW.lookup("westeurope", size.name).estimate
        low = SHEET_NOW.lookup("eastus", size.name, LOW_PRIORITY)
        assert low is None or (low.estimate and "Spot" in low.note)


def test_prod_clusters_cost_nothing_idle_and_max_nodes_when_busy() -> None:
    lines = {line.name: line for line in estimate(stack("prod"), ROOT, SHEET_NOW).lines}
    gpu = next(line for name, line in lines.items() if name.startswith("gpu-"))
    assert (gpu.sku, gpu.min_count, gpu.max_count, gpu.monthly_min) == ("Standard_NC24ads_A100_v4", 0, 2, 0.0)
    assert gpu.monthly_max == round(price("westeurope", "Standard_NC24ads_A100_v4") * 2 * HOURS_PER_MONTH, 2)


def test_endpoints_cost_instance_type_times_count_with_environment_overrides() -> None:
    lines = {line.name: line for line in estimate(stack("prod"), ROOT, SHEET_NOW).lines}
    churn = lines["churn/main"]  # the deployment file says DS3_v2 x1; prod overrides the count to 2
    assert (churn.sku, churn.min_count, churn.monthly_min) == (
        "Standard_DS3_v2",
        2,
        round(price("westeurope", "Standard_DS3_v2") * 2 * HOURS_PER_MONTH, 2),
    )
    assert lines["churn-gpu/main"].sku == "Standard_NC24ads_A100_v4"  # the environment's instance_type wins
    assert (lines["phi3-chat"].kind, lines["phi3-chat"].monthly_max) == ("serverless", 0.0)


def test_an_autoscaled_deployment_is_priced_at_the_most_instances_any_profile_allows() -> None:
    churn = {line.name: line for line in estimate(stack("prod"), ROOT, SHEET_NOW).lines}["churn/main"]
    assert (churn.min_count, churn.max_count) == (2, 8)  # min_instances 2; the business-hours schedule's max 8
    assert churn.monthly_max == round(price("westeurope", "Standard_DS3_v2") * 8 * HOURS_PER_MONTH, 2)
    assert "autoscale 2-8 instances: at most 8" in churn.note


def test_low_priority_clusters_use_the_low_priority_price() -> None:
    lines = [line for line in estimate(stack("dev"), ROOT, SHEET_NOW).lines if line.kind == "cluster"]
    assert lines and all(line.priority == LOW_PRIORITY for line in lines)
    cpu = next(line for line in lines if line.name.startswith("cpu-"))
    assert cpu.hourly == price("westeurope", "Standard_DS3_v2", LOW_PRIORITY)


def test_totals_add_up() -> None:
    est = estimate(stack("prod"), ROOT, SHEET_NOW)
    assert est.monthly_max == round(sum(line.monthly_max for line in est.lines), 2) > est.monthly_min > 0
    assert est.unpriced == []


def test_fixed_costs_are_priced() -> None:
    lines = {line.kind: line for line in estimate(stack("prod"), ROOT, SHEET_NOW).lines}
    # FQDN rules under approved-only outbound: a managed Azure Firewall, Standard unless told otherwise
    assert (lines["firewall"].sku, lines["firewall"].monthly_max) == ("azure-firewall-Standard", 912.5)
    # the access network's workspace, blob and file endpoints, and the managed one to the shared registry
    assert (lines["private-endpoints"].max_count, lines["private-endpoints"].monthly_max) == (4, 29.2)
    assert (lines["container-registry"].sku, lines["container-registry"].monthly_max) == ("container-registry-Premium", 50.7)
    assert lines["storage"].units_per_month == ASSUMPTIONS["storage_gb"] and "100 GB" in lines["storage"].note
    assert lines["logs"].monthly_max == round(2.30 * ASSUMPTIONS["log_ingestion_gb_per_month"], 2)
    assert "firewall" not in {line.kind for line in estimate(stack("staging"), ROOT, SHEET_NOW).lines}  # internet outbound
    (registry,) = [line for line in estimate(evaluate(ROOT, "shared"), ROOT, SHEET_NOW).lines if line.kind == "registry"]
    assert (registry.sku, registry.max_count) == ("container-registry-Premium", 1)  # one region, one replica


def test_a_second_region_replicates_the_registry(repo: Path) -> None:
    edit_environment(repo, "staging", lambda d: d["azure"].update(location="eastus"))
    (registry,) = [line for line in estimate(evaluate(repo, "shared"), repo, SHEET_NOW).lines if line.kind == "registry"]
    assert registry.max_count == 2 and registry.monthly_max == round(2 * 1.667 * HOURS_PER_MONTH / 24, 2)


def test_missing_deployment_files_and_prices_are_reported_not_guessed(repo: Path) -> None:
    edit_environment(repo, "staging", lambda d: d["endpoints"].update(ghost={"deployments": {"main": {"model": "churn:1"}}}))
    edit_environment(repo, "staging", lambda d: d["azure"].update(location="swedencentral"))
    est = estimate(evaluate(repo, "staging"), repo, SHEET_NOW)
    ghost = next(line for line in est.lines if line.name == "ghost/main")
    assert ghost.hourly is None and "deployment file missing" in ghost.note
    assert {line.name for line in est.unpriced} >= {"ghost/main"} and all(
        "swedencentral" in line.note for line in est.unpriced if line.sku
    )


def test_retail_filter_is_odata() -> None:
    assert retail_filter("westeurope", ["Standard_DS3_v2", "Standard_NC4as_T4_v3"]) == (
        "serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and armRegionName eq 'westeurope' "
        "and (armSkuName eq 'Standard_DS3_v2' or armSkuName eq 'Standard_NC4as_T4_v3')"
    )


def test_an_api_page_parses_into_linux_hourly_prices() -> None:
    prices, next_link = parse_page(api_page(), "2026-01-02")
    assert {(p.sku, p.priority, p.unit_price) for p in prices} == {
        ("Standard_DS3_v2", "dedicated", 0.293),
        ("Standard_NC24ads_A100_v4", "dedicated", 3.673),
    }
    assert all(p.region == "eastus" and p.date == "2026-01-02" and not p.estimate for p in prices)
    assert next_link and "$skip=100" in next_link


class FakeResponse:
    def __init__(self, payload: dict) -> None:
        self.payload = payload

    def raise_for_status(self) -> None:
        pass

    def json(self) -> dict:
        return self.payload


def test_fetch_follows_pages_and_the_sheet_merges(tmp_path: Path) -> None:
    calls = []

    def get(url: str, params: dict | None = None, timeout: float = 0) -> FakeResponse:
        calls.append((url, params))
        return FakeResponse(api_page() if len(calls) == 1 else {"Items": [], "NextPageLink": None})

    found = fetch(["eastus"], ["Standard_DS3_v2"], get=get)
    assert len(calls) == 2 and calls[0][1]["$filter"].startswith("serviceName eq 'Virtual Machines'") and calls[1][1] is None
    merged = SHEET_NOW.merged([f.__class__(**{**f.__dict__, "region": "westeurope"}) for f in found])
    assert merged.lookup("westeurope", "Standard_DS3_v2").estimate is False  # the API's price replaces the estimate
    assert merged.lookup("eastus", "Standard_DS3_v2") == SHEET_NOW.lookup("eastus", "Standard_DS3_v2")
    merged.save(tmp_path / "prices.csv")
    reloaded = PriceSheet.load(tmp_path / "prices.csv")
    assert reloaded.lookup("westeurope", "standard_ds3_v2").unit_price == 0.293 and reloaded.prices == merged.prices


def test_an_unreachable_api_fails_clearly() -> None:
    def get(url: str, params: dict | None = None, timeout: float = 0) -> FakeResponse:
        raise requests.ConnectionError("Name or service not known")

    with pytest.raises(PriceRefreshError, match="cannot read https://prices.azure.com/api/retail/prices.*unchanged"):
        fetch(["westeurope"], ["Standard_DS3_v2"], get=get)
