"""The commands az ml users reach for: --version, completion, invoke, logs; one name per option everywhere."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
from plane_support import Plane, make_repo
from typer.testing import CliRunner

from amlops import __version__
from amlops.cli.main import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_version_is_the_package_s_one_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"amlops {__version__}\n"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "amlops.__version__"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_is_offered(shell: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # typer's switch for tests: the shell is given, not detected from the processes above pytest
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    result = runner.invoke(app, ["--show-completion", shell], prog_name="amlops")
    assert result.exit_code == 0 and "_AMLOPS_COMPLETE" in result.stdout, result.output


def _options(command: Any, path: str = "") -> list[tuple[str, Any]]:
    """(command path, option) for every option of every command (typer's groups are not click's classes)."""
    if hasattr(command, "commands"):
        return [found for name, sub in command.commands.items() for found in _options(sub, f"{path} {name}")]
    return [(path.strip(), p) for p in command.params if p.param_type_name == "option"]


def test_the_same_things_have_the_same_option_names_in_every_command() -> None:
    """--env for an environment, --repo for the repository, --format for the output."""
    for command, option in _options(typer.main.get_command(app)):
        if option.name in ("env", "environment"):
            assert "--env" in option.opts, (command, option.opts)
        if option.name in ("repo", "root"):
            assert option.opts[0] == "--repo", (command, option.opts)
        if option.name == "format":
            assert option.opts == ["--format"], (command, option.opts)
    formats = {c for c, o in _options(typer.main.get_command(app)) if o.name == "format"}
    assert {"status", "validate", "plan"} <= formats


@pytest.mark.slow
def test_invoke_logs_status_json_and_the_apply_summary(plane: Plane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path, ("churn",))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("AMLOPS_LOCAL_STATE_DIR", str(plane.state_dir))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    applied = runner.invoke(app, ["apply", "--env", "local", "--auto-approve", "--repo", str(root)])
    assert applied.exit_code == 0, applied.output
    text = summary.read_text()
    assert text.startswith("### amlops apply: `local`") and "| churn | :white_check_mark: rolled out |" in text
    answer = runner.invoke(app, ["invoke", "churn", "--env", "local", "--repo", str(root)])
    assert answer.exit_code == 0 and "probabilities" in json.loads(answer.stdout)
    by_name = runner.invoke(app, ["invoke", "churn", "--env", "local", "--deployment", "main", "--repo", str(root)])
    assert by_name.exit_code == 0 and by_name.stdout == answer.stdout
    body = tmp_path / "request.json"
    body.write_text("not json")
    refused = runner.invoke(app, ["invoke", "churn", "--env", "local", "--file", str(body), "--repo", str(root)])
    assert refused.exit_code == 1 and "churn: HTTP " in refused.stderr
    logs = runner.invoke(app, ["logs", "churn", "--env", "local", "--tail", "5", "--repo", str(root)])
    assert logs.exit_code == 0 and 0 < len(logs.stdout.splitlines()) <= 5
    missing = runner.invoke(app, ["logs", "churn", "--env", "local", "--deployment", "nope", "--repo", str(root)])
    assert missing.exit_code == 1 and "churn has no deployment 'nope'" in missing.stderr
    status = json.loads(runner.invoke(app, ["status", "--env", "local", "--format", "json", "--repo", str(root)]).stdout)
    (churn,) = status["endpoints"]
    assert churn["healthy"] and churn["deployments"][0]["traffic"] == 100 and churn["studio"] is None
