"""A committed copy of the sample repository and runs of its retraining job in the in-memory workspace."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path

from promotion.release_helpers import git
from rollout.memory_support import SETTINGS, FakeClock
from sample_support import REPO, SAMPLE_FOLDERS
from training.training_support import session

from amlops.rollout.apply import apply
from amlops.state.record import Lineage
from amlops.training.submit import TrainingSession, job_spec
from amlops.workspace.interface import ClusterSpec
from amlops.workspace.memory import MemoryWorkspace

V1 = REPO / "models" / "churn" / "v1"
#: What a retrain that learnt something new leaves in its `candidate` output.
NEW = {
    "weights.json": b'{"features": ["tenure"], "coefficients": [0.5], "intercept": -0.1}\n',
    "metrics.json": b'{"accuracy": 0.84, "passed": true}\n',
}


def committed_sample(root: Path) -> Path:
    """The sample manifests and the promotion path, committed on main of a new repository."""
    for folder in (*SAMPLE_FOLDERS, "releases"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("history"))
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "Ada"], ["config", "user.email", "ada@example.com"]):
        git(root, *args)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "sample")
    return root


@dataclass(frozen=True)
class Applied:
    """An environment applied to the in-memory workspace, with the validated session runs are submitted from
    (validating the manifests is what these tests spend their time on: once each)."""

    workspace: MemoryWorkspace
    session: TrainingSession

    def run(self, files: dict[str, bytes]) -> str:
        """A run of churn-retrain that completes with `files` in its candidate output."""
        self.workspace.trained["candidate"] = files
        run = self.workspace.submit(job_spec(self.session, "churn-retrain", {}))
        while not (current := self.workspace.run(run.name)) or not current.terminal:
            pass
        assert current.status == "Completed"
        return run.name


def applied(root: Path, environment: str = "local") -> Applied:
    """`environment` applied; in Azure environments, with the clusters Pulumi would have created first."""
    workspace = MemoryWorkspace(environment)
    s = session(root, workspace, environment)
    assert s.training is not None
    if not s.training.local:
        for c in s.training.clusters:
            workspace.put_cluster(ClusterSpec(c.azure_name, c.vm_size, c.min_nodes, c.max_nodes, c.idle_seconds, c.low_priority))
    ctx = dataclasses.replace(s.context(lambda _event: None, SETTINGS), clock=FakeClock())
    assert apply(ctx, s.plan()).ok
    return Applied(workspace, TrainingSession(s.repo, s.training, workspace, Lineage(environment, s.release.id, None)))


def v1_bytes() -> dict[str, bytes]:
    return {p.relative_to(V1).as_posix(): p.read_bytes() for p in V1.rglob("*") if p.is_file()}
