"""Changes Azure refuses are refused first: network transitions against a base, incomplete outbound rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_support import edit_environment, git
from typer.testing import CliRunner

from amlops.cli.infra import app
from amlops.infraplan.inventory import ProgramError, evaluate
from amlops.manifests import validate_repository

runner = CliRunner()


def committed(repo: Path) -> Path:
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    return repo


def plan_against_head(repo: Path, env: str):
    return runner.invoke(app, ["plan", "--env", env, "--base", "HEAD", "--format", "json", "--root", str(repo)])


def line_of(repo: Path, env: str, text: str) -> int:
    lines = (repo / "environments" / f"{env}.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_turning_the_managed_network_off_is_refused_with_file_and_line(repo: Path) -> None:
    committed(repo)
    edit_environment(repo, "staging", lambda d: d["infrastructure"].update(network={"mode": "public"}))
    result = plan_against_head(repo, "staging")
    assert result.exit_code == 2 and result.stdout == ""
    line = line_of(repo, "staging", "mode: public")
    assert f"environments/staging.yaml:{line}:" in result.stderr and "cannot be turned off once on" in result.stderr


def test_approved_outbound_cannot_go_back_to_internet_outbound(repo: Path) -> None:
    committed(repo)

    def loosen(d: dict) -> None:
        d["infrastructure"]["network"]["isolation"] = "allow_internet_outbound"
        del d["infrastructure"]["network"]["outbound_rules"]

    edit_environment(repo, "prod", loosen)
    result = plan_against_head(repo, "prod")
    line = line_of(repo, "prod", "isolation: allow_internet_outbound")
    assert result.exit_code == 2 and f"environments/prod.yaml:{line}:" in result.stderr
    assert "infrastructure.network.isolation: allow_only_approved_outbound cannot go back" in result.stderr


def test_tightening_outbound_is_allowed(repo: Path) -> None:
    committed(repo)
    edit_environment(repo, "staging", lambda d: d["infrastructure"]["network"].update(isolation="allow_only_approved_outbound"))
    result = plan_against_head(repo, "staging")
    assert result.exit_code in (0, 1), result.stderr  # planned (policies decide the exit code), not refused
    assert "cannot" not in result.stderr


def _rule_without_subresource(d: dict) -> None:
    d["infrastructure"]["network"]["outbound_rules"].append(
        {
            "name": "features",
            "type": "private_endpoint",
            "destination": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/x",
        }
    )


def test_validate_refuses_a_private_endpoint_rule_without_subresource(repo: Path) -> None:
    edit_environment(repo, "prod", _rule_without_subresource)
    _, problems = validate_repository(repo)
    line = line_of(repo, "prod", "name: features")
    assert [str(p) for p in problems if "outbound_rules" in p.field] == [
        f"environments/prod.yaml:{line}:7: infrastructure.network.outbound_rules[5]: "
        "private_endpoint rule 'features' needs subresource: (e.g. amlregistry, blob, vault)"
    ]


def test_the_program_refuses_it_too(repo: Path) -> None:
    edit_environment(repo, "prod", _rule_without_subresource)
    with pytest.raises(ProgramError, match="'features': a private_endpoint rule needs subresource"):
        evaluate(repo, "prod")
