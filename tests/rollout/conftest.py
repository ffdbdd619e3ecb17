"""Fixtures for rollouts against the local control plane, driven through the real azure-ai-ml SDK.

Each test gets a fresh control plane (its own state dir, stopped in teardown with every serving
process) and a throwaway git repository made from the sample manifests, with a small strategy.
Served-model environments come from the shared cache (`$AMLOPS_ENV_CACHE`), as in tests/local.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from amlops.local import server
from amlops.local.client import LocalAdmin, ml_client
from amlops.local.serving import default_env_cache
from amlops.rollout.apply import ApplyResult, apply
from amlops.rollout.executor import Settings
from amlops.rollout.session import Session, open_session

SAMPLE = Path(__file__).resolve().parents[2]
STRATEGY = """strategy:
  steps:
    - mirror: 20
    - weight: 50
    - weight: 100
  gate:
    max_error_rate: 0.05
    max_latency_p95_ms: 2000
    min_requests: 5
"""


@dataclass
class Plane:
    state_dir: Path
    admin: LocalAdmin
    events: list[tuple[float, str, str]] = field(default_factory=list)

    def client(self):
        return ml_client(self.state_dir)

    def writes(self) -> int:
        return self.admin.requests(log=0)["writes"]

    def session(self, root: Path) -> Session:
        return open_session(root, "local", self.state_dir)

    def apply(self, root: Path, **settings) -> ApplyResult:
        session = self.session(root)
        ctx = session.context(self._event, Settings(poll_seconds=0.3, gate_timeout=60, lock_settle=0.1, **settings))
        return apply(ctx, session.plan())

    def _event(self, endpoint: str, message: str) -> None:
        self.events.append((time.time(), endpoint, message))

    def said(self, endpoint: str) -> list[str]:
        return [m for _, e, m in self.events if e == endpoint]


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[Plane]:
    state_dir = (tmp_path / "state").resolve()
    connection = server.start(state_dir, provisioning_delay=0.2, env_cache=default_env_cache())
    try:
        yield Plane(state_dir, LocalAdmin(connection))
    finally:
        server.stop(state_dir)


def make_repo(folder: Path, endpoints: tuple[str, ...] = ("churn",), strategy: str = STRATEGY) -> Path:
    """The sample manifests for `endpoints` in a new git repository, with a `local` environment."""
    root = folder / "repo"
    for part in ("models",) + tuple(f"endpoints/{e}" for e in endpoints):
        shutil.copytree(SAMPLE / part, root / part)
    (root / "environments").mkdir(parents=True)
    write_environment(root, {e: "1" for e in endpoints}, strategy)
    git(root, "init", "-q", "-b", "main")
    commit(root, "sample")
    return root


def write_environment(root: Path, versions: dict[str, str], strategy: str = STRATEGY) -> None:
    models = {"churn": "churn", "credit-risk": "credit-risk"}
    body = "".join(
        f"  {e}:\n    deployments:\n      main:\n        model: {models[e]}:{v}\n        instance_type: Standard_DS3_v2\n"
        for e, v in versions.items()
    )
    (root / "environments" / "local.yaml").write_text(f"name: local\ntarget: local\n{strategy}endpoints:\n{body}")


def bump_churn(root: Path, version: str = "2", coefficients: list[float] | None = None) -> None:
    """A new churn model version with other weights, served by the `local` environment.

    A single-file model: the local control plane links a model folder into AZUREML_MODEL_DIR as a
    symlink, which the sample scoring script's os.walk does not follow (a file it finds directly).
    """
    folder = root / "models" / "churn"
    weights = json.loads((folder / "v1" / "weights.json").read_text())
    weights["coefficients"] = coefficients or [c * 1.5 for c in weights["coefficients"]]
    (folder / f"v{version}").mkdir()
    (folder / f"v{version}" / "weights.json").write_text(json.dumps(weights))
    spec = (folder / "v1.yml").read_text().replace('version: "1"', f'version: "{version}"').replace("path: v1", f"path: v{version}/weights.json")
    (folder / f"v{version}.yml").write_text(spec)
    text = (root / "environments" / "local.yaml").read_text().replace("model: churn:1", f"model: churn:{version}")
    (root / "environments" / "local.yaml").write_text(text)
    commit(root, f"churn {version}")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message)
