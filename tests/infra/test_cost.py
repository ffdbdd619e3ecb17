"""Cost estimates, the price sheet and its refresh from the Retail Prices API (on a recorded page)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from infra_support import ROOT, edit_environment, stack

from amlops.infraplan.cost import HOURS_PER_MONTH, estimate
from amlops.infraplan.inventory import evaluate
from amlops.infraplan.prices import LOW_PRIORITY, SHEET, PriceRefreshError, PriceSheet, fetch, parse_page, retail_filter
from amlops.manifests.skus import VM_SIZES

SHEET_NOW = PriceSheet.load(ROOT / SHEET)
PAGE = json.loads((Path(__file__).parent / "data" / "retail-prices-page.json").read_text())


def price(region: str, sku: str, priority: str = "dedicated") -> float:
    found = SHEET_NOW.lookup(region, sku, priority)
    assert found is not None
    return found.unit_price


def test_the_sheet_prices_every_known_size_in_both_seeded_regions() -> None:
    for region in ("westeurope", "eastus"):
        for size in VM_SIZES.values():
            for priority in ("dedicated", LOW_PRIORITY):
                row = SHEET_NOW.lookup(region, size.name, priority)
                assert row and row.unit_price > 0 and row.source == "https://prices.azure.com/api/retail/prices" and row.date


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


def test_low_priority_clusters_use_the_low_priority_price() -> None:
    lines = [line for line in estimate(stack("dev"), ROOT, SHEET_NOW).lines if line.kind == "cluster"]
    assert lines and all(line.priority == LOW_PRIORITY for line in lines)
    cpu = next(line for line in lines if line.name.startswith("cpu-"))
    assert cpu.hourly == price("westeurope", "Standard_DS3_v2", LOW_PRIORITY)


def test_totals_add_up() -> None:
    est = estimate(stack("prod"), ROOT, SHEET_NOW)
    assert est.monthly_max == round(sum(line.monthly_max for line in est.lines), 2) > est.monthly_min > 0
    assert est.unpriced == []


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


def test_a_recorded_page_parses_into_linux_dedicated_and_low_priority_prices() -> None:
    prices, next_link = parse_page(PAGE, "2026-01-02")
    assert {(p.sku, p.priority, p.unit_price) for p in prices} == {
        ("Standard_DS3_v2", "dedicated", 0.342),
        ("Standard_DS3_v2", "low_priority", 0.0684),
        ("Standard_NC24ads_A100_v4", "dedicated", 4.0402),
    }
    assert all(p.region == "westeurope" and p.date == "2026-01-02" for p in prices)
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
        return FakeResponse(PAGE if len(calls) == 1 else {"Items": [], "NextPageLink": None})

    found = fetch(["westeurope"], ["Standard_DS3_v2"], get=get)
    assert len(calls) == 2 and calls[0][1]["$filter"].startswith("serviceName eq 'Virtual Machines'") and calls[1][1] is None
    merged = SHEET_NOW.merged(found)
    assert merged.lookup("westeurope", "Standard_DS3_v2").unit_price == 0.342
    assert merged.lookup("eastus", "Standard_DS3_v2") == SHEET_NOW.lookup("eastus", "Standard_DS3_v2")
    merged.save(tmp_path / "prices.csv")
    assert PriceSheet.load(tmp_path / "prices.csv").lookup("westeurope", "standard_ds3_v2", LOW_PRIORITY).unit_price == 0.0684


def test_an_unreachable_api_fails_clearly() -> None:
    def get(url: str, params: dict | None = None, timeout: float = 0) -> FakeResponse:
        raise requests.ConnectionError("Name or service not known")

    with pytest.raises(PriceRefreshError, match="cannot read https://prices.azure.com/api/retail/prices.*unchanged"):
        fetch(["westeurope"], ["Standard_DS3_v2"], get=get)
