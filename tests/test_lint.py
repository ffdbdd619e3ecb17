"""The code's shape is checked where CI runs: ruff (lint and format), the import contracts, mypy strict."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True)


def test_ruff_finds_nothing():
    result = run("ruff", "check", "--no-cache", str(REPO))
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_changes_nothing():
    result = run("ruff", "format", "--check", "--no-cache", str(REPO))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_hold():
    """import-linter's contracts in pyproject.toml: the layers, local/ apart, no SDK outside the edge."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing():
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
