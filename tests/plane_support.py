"""Helpers for rollouts and promotions against the local control plane, through the real azure-ai-ml SDK.

The `plane` fixture (tests/conftest.py) gives each test a fresh control plane: its own state dir,
stopped in teardown with every serving process. `make_repo` makes a throwaway git repository from
the sample manifests, with small strategies. Served-model environments come from the shared cache
(`$AMLOPS_ENV_CACHE`), as in tests/local. A module, not a conftest: `from conftest import` finds
whichever of the folders' conftest modules pytest loaded last.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from sample_support import add_churn_version

from amlops.local.client import LocalAdmin, ml_client
from amlops.manifests.environment import Environment, Platform
from amlops.rollout.apply import ApplyResult, apply
from amlops.rollout.events import Event
from amlops.rollout.loop import Settings
from amlops.rollout.session import Session, open_session
from amlops.state.live import LiveEndpoint
from amlops.workspace import open_workspace
from amlops.workspace.sdk import SdkWorkspace

SAMPLE = Path(__file__).resolve().parents[1]
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

    def client(self, workspace: str = "local"):
        """The workspace of environment `workspace` (each local environment has its own)."""
        return ml_client(self.state_dir, workspace)

    def workspace(self, environment: str = "local") -> SdkWorkspace:
        """The workspace of local environment `environment`, as amlops reaches it."""
        return open_workspace(Environment(name=environment, platform=Platform.local), self.state_dir)

    def live(self, endpoint: str, environment: str = "local") -> LiveEndpoint | None:
        """One endpoint as the workspace reports it now."""
        return self.workspace(environment).endpoint(endpoint)

    def writes(self) -> int:
        return self.admin.requests(log=0)["writes"]

    def session(self, root: Path, environment: str = "local") -> Session:
        return open_session(root, environment, self.state_dir)

    def apply(self, root: Path, environment: str = "local", **settings) -> ApplyResult:
        """What `amlops apply --auto-approve` does, with short polls and gate timeouts."""
        session = self.session(root, environment)
        ctx = session.context(self._event, Settings(poll_seconds=0.3, gate_timeout=60, lock_settle=0.1, **settings))
        return apply(ctx, session.plan())

    def _event(self, event: Event) -> None:
        self.events.append((time.time(), event.endpoint, str(event)))

    def said(self, endpoint: str) -> list[str]:
        return [m for _, e, m in self.events if e == endpoint]


def make_repo(folder: Path, endpoints: tuple[str, ...] = ("churn",), strategy: str = STRATEGY) -> Path:
    """The sample manifests for `endpoints` in a new git repository, with a `local` environment."""
    root = folder / "repo"
    for part in ("models",) + tuple(f"endpoints/{e}" for e in endpoints):
        shutil.copytree(SAMPLE / part, root / part)
    (root / "environments").mkdir(parents=True)
    write_environment(root, {e: "1" for e in endpoints}, strategy)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@example.com")
    commit(root, "sample")
    return root


def write_environment(root: Path, versions: dict[str, str], strategy: str = STRATEGY, name: str = "local") -> None:
    """`environments/<name>.yaml`, a local environment serving `versions` (endpoint -> model version)."""
    models = {"churn": "churn", "credit-risk": "credit-risk"}
    body = "".join(
        f"  {e}:\n    deployments:\n      main:\n        model: {models[e]}:{v}\n        instance_type: Standard_DS3_v2\n"
        for e, v in versions.items()
    )
    (root / "environments" / f"{name}.yaml").write_text(f"name: {name}\nplatform: local\n{strategy}endpoints:\n{body}")


def bump_churn(root: Path, version: str = "2", coefficients: list[float] | None = None, environment: str = "local") -> None:
    """`add_churn_version`, committed."""
    add_churn_version(root, version, coefficients, environment)
    commit(root, f"churn {version}")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
