"""Helpers for the infra tests: the repository's stacks evaluated once, and throwaway repositories.

A module of its own rather than `conftest`, which other test folders may also define.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from amlops.infraplan.inventory import Inventory, evaluate

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")

_cache: dict[str, Inventory] = {}


def stack(name: str) -> Inventory:
    """The repository's program evaluated as stack `name` (cached: evaluations are deterministic)."""
    if name not in _cache:
        _cache[name] = evaluate(ROOT, name)
    return _cache[name]


def copy_repo(destination: Path) -> Path:
    """The program, stack files, environments and endpoints of this repository, in `destination`."""
    shutil.copytree(ROOT / "infra", destination / "infra", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "environments", destination / "environments")
    if (ROOT / "endpoints").is_dir():
        shutil.copytree(ROOT / "endpoints", destination / "endpoints")
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, destination / path.name)
    return destination


def edit_environment(root: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    yaml = YAML()
    path = root / "environments" / f"{name}.yaml"
    data = yaml.load(path.read_text())
    change(data)
    with path.open("w") as out:
        yaml.dump(data, out)


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args], check=True, capture_output=True
    )
