"""`amlops infra plan` and `amlops infra prices` through the CLI, and `--base` against git revisions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from infra_support import ROOT, edit_environment, git
from typer.testing import CliRunner

from amlops.cli.infra import app
from amlops.infraplan.plan import make_plan

runner = CliRunner()


def plan_json(*args: str) -> dict:
    result = runner.invoke(app, ["plan", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_lists_resources_by_type_token_and_name() -> None:
    data = plan_json("--env", "prod", "--root", str(ROOT))
    assert data["stack"] == "prod"
    kinds = {(r["type"], r["azure_name"]) for r in data["resources"]}
    assert ("azure-native:machinelearningservices:Workspace", "mlw-amlops-prod") in kinds
    assert all(set(r) == {"type", "name", "azure_name", "settings"} for r in data["resources"])
    assert {p["name"] for p in data["policies"]} >= {"clusters-scale-to-zero", "no-public-network-access-in-production"}
    assert all(p["passed"] for p in data["policies"])
    assert data["cost"]["monthly_max"] > data["cost"]["monthly_min"] > 0
    assert data["outputs"]["workspace_name"] == "mlw-amlops-prod"


def test_markdown_is_a_pull_request_comment() -> None:
    result = runner.invoke(app, ["plan", "--env", "dev", "--format", "markdown", "--root", str(ROOT)])
    assert result.exit_code == 0
    assert result.stdout.startswith("### `dev`:") and "| cluster | cpu-" in result.stdout and "usage-priced" in result.stdout


def test_a_mandatory_policy_violation_fails_the_command(repo: Path) -> None:
    edit_environment(repo, "dev", lambda d: d["infrastructure"]["clusters"][0].update(min_nodes=1))
    result = runner.invoke(app, ["plan", "--env", "dev", "--format", "json", "--root", str(repo)])
    assert result.exit_code == 1
    failed = {p["name"]: p["violations"] for p in json.loads(result.stdout)["policies"] if not p["passed"]}
    assert list(failed) == ["clusters-scale-to-zero"]


def test_an_unknown_environment_is_an_error_not_a_traceback() -> None:
    result = runner.invoke(app, ["plan", "--env", "nope", "--root", str(ROOT)])
    assert result.exit_code == 2 and "no such environment file" in result.stderr


def test_base_shows_resource_and_cost_changes(repo: Path) -> None:
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    edit_environment(repo, "staging", lambda d: d["infrastructure"]["clusters"][1].update(vm_size="Standard_NC48ads_A100_v4"))
    edit_environment(repo, "staging", lambda d: d["infrastructure"]["clusters"][0].update(max_nodes=6))
    data = plan_json("--env", "staging", "--base", "HEAD", "--root", str(repo))["diff"]
    actions = {(c["action"], c["name"].split("-")[0]) for c in data["resources"]}
    assert actions == {("create", "gpu"), ("delete", "gpu"), ("update", "cpu")}
    (update,) = [c for c in data["resources"] if c["action"] == "update"]
    assert update["paths"] == ["properties.properties.scaleSettings.maxNodeCount"]
    assert data["cost"]["monthly_min"] == 0 and data["cost"]["monthly_max"] > 0
    assert {line["name"].split("-")[0] for line in data["cost"]["lines"]} == {"cpu", "gpu"}


def test_base_without_the_program_shows_everything_as_new(repo: Path) -> None:
    git(repo, "init", "-q")
    (repo / "README").write_text("before infra\n")
    git(repo, "add", "README")
    git(repo, "commit", "-qm", "empty")
    plan = make_plan(repo, "dev", "HEAD")
    assert plan.base and plan.base.inventory is None
    assert {c.action for c in plan.base.resources} == {"create"} and len(plan.base.resources) == len(
        plan.inventory.azure_resources
    )
    assert plan.base.cost.monthly_max == plan.estimate.monthly_max


def test_an_unknown_base_is_an_error() -> None:
    result = runner.invoke(app, ["plan", "--env", "dev", "--base", "no-such-ref", "--root", str(ROOT)])
    assert result.exit_code == 2 and "git ls-tree" in result.stderr


def test_prices_refresh_fails_clearly_without_the_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def unreachable(*args: object, **kwargs: object) -> None:
        raise requests.ConnectionError("Failed to resolve 'prices.azure.com'")

    monkeypatch.setattr(requests, "get", unreachable)
    (tmp_path / "infra").mkdir()
    sheet = tmp_path / "infra" / "prices.csv"
    sheet.write_text((ROOT / "infra" / "prices.csv").read_text())
    result = runner.invoke(app, ["prices", "--refresh", "--root", str(tmp_path)])
    assert result.exit_code == 1 and "cannot read https://prices.azure.com/api/retail/prices" in result.stderr
    assert sheet.read_text() == (ROOT / "infra" / "prices.csv").read_text()


def test_prices_lists_the_sheet() -> None:
    result = runner.invoke(app, ["prices", "--region", "eastus", "--root", str(ROOT)])
    assert result.exit_code == 0 and "Standard_NC24ads_A100_v4" in result.stdout and "westeurope" not in result.stdout
