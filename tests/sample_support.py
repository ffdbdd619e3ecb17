"""The sample repository copied for a test to break or change in one place. A module, not a conftest."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_FOLDERS = ("environments", "models", "endpoints", "jobs", "components", "assets", "batch-endpoints", "schedules")


def copy_sample(destination: Path) -> Path:
    for folder in SAMPLE_FOLDERS:
        shutil.copytree(REPO / folder, destination / folder)
    return destination


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
