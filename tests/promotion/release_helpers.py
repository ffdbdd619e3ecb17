"""A throwaway git repository holding a copy of the sample manifests, with a new model version in dev."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sample_support import SAMPLE_FOLDERS

from amlops.manifests import load_repository
from amlops.promotion.plan import LiveEvidence, ModelShare
from amlops.release import build_release
from amlops.release.bundle import Release

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The sample repository, committed, where dev serves churn:2 (new bytes) and staging still churn:1."""
    root = tmp_path / "repo"
    for folder in (*SAMPLE_FOLDERS, "releases"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("history"))
    v2 = root / "models" / "churn" / "v2"
    shutil.copytree(root / "models" / "churn" / "v1", v2)
    weights = json.loads((v2 / "weights.json").read_text())
    weights["retrained"] = True
    (v2 / "weights.json").write_text(json.dumps(weights))
    (root / "models" / "churn" / "v2.yml").write_text(
        (root / "models" / "churn" / "v1.yml").read_text().replace('version: "1"', 'version: "2"').replace("path: v1", "path: v2")
    )
    dev = root / "environments" / "dev.yaml"
    dev.write_text(dev.read_text().replace("model: churn:1", "model: churn:2"))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Ada Tester")
    git(root, "config", "user.email", "ada@example.com")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "sample")
    return root


def release_of(root: Path, environment: str) -> Release:
    repository, problems = load_repository(root)
    return build_release(repository, environment)


@dataclass
class Live:
    """The source workspace, as a test wants it: by default the declared release, healthy, a day old."""

    since: datetime = NOW - timedelta(days=1)
    healthy: bool = True
    release_ids: dict[str, str | None] = field(default_factory=dict)  # overrides per endpoint
    calls: int = 0

    def __call__(self, environment: str, release: Release) -> Mapping[str, LiveEvidence]:
        self.calls += 1
        names = sorted({*release.endpoints, *release.serverless})
        return {
            n: LiveEvidence(n, self.release_ids.get(n, release.endpoint(n).id), self.healthy, self.since, "traffic main=100%")
            for n in names
            if self.release_ids.get(n, "") is not None
        }


@dataclass
class Registry:
    """The shared registry, in memory: which models it has, which were shared."""

    present: set[tuple[str, str]] = field(default_factory=set)
    checked: list[ModelShare] = field(default_factory=list)
    shared: list[ModelShare] = field(default_factory=list)

    def missing(self, model: ModelShare) -> bool:
        self.checked.append(model)
        return (model.name, model.version) not in self.present

    def share(self, model: ModelShare) -> None:
        self.shared.append(model)
        self.present.add((model.name, model.version))
