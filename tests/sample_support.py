"""The sample repository copied for a test to break or change in one place. A module, not a conftest."""

from __future__ import annotations

import json
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


def add_churn_version(
    root: Path, version: str = "2", coefficients: list[float] | None = None, environment: str = "local"
) -> None:
    """A new churn model version with other weights, in a folder as a user adds one, served by `environment`."""
    folder = root / "models" / "churn"
    weights = json.loads((folder / "v1" / "weights.json").read_text())
    weights["coefficients"] = coefficients or [c * 1.5 for c in weights["coefficients"]]
    (folder / f"v{version}").mkdir()
    (folder / f"v{version}" / "weights.json").write_text(json.dumps(weights))
    spec = (
        (folder / "v1.yml").read_text().replace('version: "1"', f'version: "{version}"').replace("path: v1", f"path: v{version}")
    )
    (folder / f"v{version}.yml").write_text(spec)
    manifest = root / "environments" / f"{environment}.yaml"
    manifest.write_text(manifest.read_text().replace("model: churn:1", f"model: churn:{version}"))
