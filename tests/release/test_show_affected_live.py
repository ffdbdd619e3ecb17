"""`amlops release show`, which stacks a change touches, and the workspace's word as promotion evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from amlops.cli.release import app
from amlops.infraplan.affected import affected_stacks
from amlops.manifests import load_repository
from amlops.promotion.evidence import evidence_from
from amlops.release import build_release
from amlops.state.status import DeploymentStatus, EndpointStatus, LiveRelease

REPO = Path(__file__).resolve().parents[2]
SERVES = {"dev": {"churn", "credit-risk", "phi3-chat"}, "staging": {"churn"}, "prod": {"churn", "credit-risk"}}


def test_show_json_pins_every_deployment() -> None:
    result = CliRunner().invoke(app, ["show", "--env", "prod", "--format", "json", "--repo", str(REPO)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    release = build_release(load_repository(REPO)[0], "prod")
    assert (shown["id"], shown["alias"]) == (release.id, release.alias)
    churn = shown["endpoints"]["churn"]["deployments"]["main"]
    assert churn["model"]["content_hash"] == release.endpoints["churn"].deployments["main"].model.content_hash
    assert churn["azure_name"].startswith("main-") and churn["instance_count"] == 2
    assert shown["serverless"]["phi3-chat"]["model_id"].startswith("azureml://registries/azureml/")


def test_show_table_names_the_release() -> None:
    result = CliRunner().invoke(app, ["show", "--env", "staging", "--repo", str(REPO)], terminal_width=200)
    assert result.exit_code == 0
    release = build_release(load_repository(REPO)[0], "staging")
    assert f"release {release.alias} ({release.id}) in staging" in result.stdout
    assert "churn:1" in result.stdout and "phi3-chat" in result.stdout


def test_show_refuses_invalid_manifests(tmp_path: Path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text("name: dev\nplatform: nowhere\n")
    result = CliRunner().invoke(app, ["show", "--env", "dev", "--repo", str(tmp_path)])
    assert result.exit_code == 1 and "fix them first" in result.stderr


@pytest.mark.parametrize(
    ("changed", "stacks"),
    [
        (["environments/staging.yaml", "releases/history/staging.yaml"], ["staging"]),
        (["environments/local.yaml", "README.md", ".github/workflows/pr.yml", "tests/x.py"], []),
        (["endpoints/credit-risk/main.yml"], ["dev", "prod"]),
        (["models/churn/v2.yml"], ["dev", "prod", "staging"]),
        (["infra/compute.py"], ["dev", "prod", "shared", "staging"]),
        (["src/amlops/rollout/plan.py"], ["dev", "prod", "shared", "staging"]),
        (["Pulumi.prod.yaml", "Pulumi.shared.yaml"], ["prod", "shared"]),
    ],
)
def test_affected_stacks(changed: list[str], stacks: list[str]) -> None:
    assert affected_stacks(changed, SERVES) == stacks


def test_affected_command_lists_every_azure_stack_without_a_base() -> None:
    result = CliRunner().invoke(app, ["affected", "--repo", str(REPO)])
    assert json.loads(result.stdout) == ["dev", "prod", "shared", "staging"]  # not local: no Azure behind it


def test_evidence_from_the_workspace() -> None:
    release = build_release(load_repository(REPO)[0], "staging")
    since = datetime(2026, 3, 1, tzinfo=UTC)
    serving = (DeploymentStatus("main-1", "main", "churn:1", "Succeeded", "1 x DS3", 100, 0),)
    churn = EndpointStatus(
        "churn", release.endpoint("churn").id, None, since, None, None, serving, None, (), None, None, None, "Succeeded"
    )
    evidence = evidence_from(LiveRelease(release.id, True, since, (churn,)), release)
    assert evidence["churn"].endpoint_release == release.endpoint("churn").id and evidence["churn"].healthy
    assert evidence["churn"].detail == "provisioning Succeeded; traffic main-1=100%"
    assert evidence["phi3-chat"].endpoint_release == release.endpoint("phi3-chat").id  # serverless: live with the whole
    other = evidence_from(LiveRelease(None, False, since, (churn,)), release)
    assert other["phi3-chat"].endpoint_release is None
