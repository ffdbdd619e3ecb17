"""`amlops validate` as a user runs it: exit codes, one line per problem, never a traceback.

One test runs `amlops` as a child process, as a user would; the others run the same CLI in this process
(`amlops_in_process`, in a fresh shell's environment; an exception escaping the command fails them).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sample_support import SAMPLE_FOLDERS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def amlops_process(shell_env: dict[str, str]):
    """`amlops` as a child process, as a user runs it."""

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "amlops", *args]
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env=shell_env)

    return run


def test_clean_repository_exits_0(amlops_in_process):
    result = amlops_in_process("validate", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "manifests are valid" in result.stderr
    assert result.stdout == ""


def test_problems_exit_1_with_every_problem_and_no_traceback(amlops_process, tmp_path: Path):
    for folder in SAMPLE_FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder)
    dev = tmp_path / "environments/dev.yaml"
    dev.write_text(dev.read_text().replace("max_nodes: 4", "max_nodes: many").replace("model: churn:1", "model: churn:3"))
    (tmp_path / "endpoints/churn/main.yml").write_text("name: main\nname: again\n")
    result = amlops_process("validate", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        "environments/dev.yaml:19:7: infrastructure.clusters[0].max_nodes: Input should be a valid integer, unable to parse string as an integer"
        in lines
    )
    assert any(line.startswith("endpoints/churn/main.yml:2:1: (file): ") and "duplicate key" in line for line in lines)
    assert "Traceback" not in result.stdout + result.stderr
    assert "3 problems found" in result.stderr or f"{len(lines)} problems found" in result.stderr


def test_unknown_environment_is_a_problem_not_a_crash(amlops_in_process):
    result = amlops_in_process("validate", "--env", "qa", cwd=REPO)
    assert result.returncode == 1
    assert "environments/qa.yaml:1:1: (file): no such environment" in result.stdout


def test_validate_outside_a_repository_fails(amlops_in_process, tmp_path: Path):
    result = amlops_in_process("validate", cwd=tmp_path)
    assert result.returncode == 1 and "manifests are valid" not in result.stderr
    assert "not an amlops repository: no environments/ folder" in result.stdout


def test_a_floating_model_in_dev_shows_its_resolved_release_not_a_traceback(amlops_in_process, tmp_path: Path):
    for folder in SAMPLE_FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder)
    dev = tmp_path / "environments/dev.yaml"
    dev.write_text(dev.read_text().replace("model: churn:1", "model: churn@latest"))
    result = amlops_in_process("release", "show", "--env", "dev", cwd=tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "churn:1" in result.stdout


def _broken(tmp_path: Path) -> Path:
    for folder in ("environments", "models", "endpoints"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    dev = tmp_path / "environments/dev.yaml"
    dev.write_text(dev.read_text().replace("max_nodes: 4", "max_nodes: many"))
    return tmp_path


def test_json_lists_every_problem_with_its_position(amlops_in_process, tmp_path: Path):
    result = amlops_in_process("validate", "--format", "json", cwd=_broken(tmp_path))
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert {
        "path": "environments/dev.yaml",
        "line": 19,
        "column": 7,
        "field": "infrastructure.clusters[0].max_nodes",
    }.items() <= (data["problems"][0].items())
    clean = amlops_in_process("validate", "--format", "json", cwd=REPO)
    assert clean.returncode == 0 and json.loads(clean.stdout) == {"valid": True, "problems": []}


def test_in_github_actions_each_problem_is_an_error_annotation(
    amlops_in_process, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = amlops_in_process("validate", cwd=_broken(tmp_path))
    assert result.returncode == 1
    assert (
        "::error file=environments/dev.yaml,line=19,col=7,title=infrastructure.clusters[0].max_nodes::"
        "Input should be a valid integer, unable to parse string as an integer"
    ) in result.stdout.splitlines()


def test_outside_github_actions_there_are_no_annotations(amlops_in_process, tmp_path: Path):
    result = amlops_in_process("validate", cwd=_broken(tmp_path))
    assert "::error" not in result.stdout
