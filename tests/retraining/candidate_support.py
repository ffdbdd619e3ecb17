"""A committed copy of the sample repository and runs of its retraining job in the in-memory workspace."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sample_support import REPO, SAMPLE_FOLDERS
from training.training_support import apply_all, session, training_session

from amlops.training.submit import job_spec
from amlops.workspace.interface import ClusterSpec
from amlops.workspace.memory import MemoryWorkspace

V1 = REPO / "models" / "churn" / "v1"
#: What a retrain that learnt something new leaves in its `candidate` output.
NEW = {
    "weights.json": b'{"features": ["tenure"], "coefficients": [0.5], "intercept": -0.1}\n',
    "metrics.json": b'{"accuracy": 0.84, "passed": true}\n',
}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def committed_sample(root: Path) -> Path:
    for folder in (*SAMPLE_FOLDERS, "releases"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("history"))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Ada Tester")
    git(root, "config", "user.email", "ada@example.com")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "sample")
    return root


def applied(root: Path, environment: str = "local") -> MemoryWorkspace:
    """`environment` applied; in Azure environments, with the clusters Pulumi would have created first."""
    workspace = MemoryWorkspace(environment)
    training = session(root, workspace, environment).training
    assert training is not None
    if not training.local:
        for c in training.clusters:
            workspace.put_cluster(ClusterSpec(c.azure_name, c.vm_size, c.min_nodes, c.max_nodes, c.idle_seconds, c.low_priority))
    assert apply_all(root, workspace, environment).ok
    return workspace


def completed_run(root: Path, workspace: MemoryWorkspace, files: dict[str, bytes], environment: str = "local") -> str:
    """A run of churn-retrain that completes with `files` in its candidate output."""
    workspace.trained["candidate"] = files
    session = training_session(root, workspace, environment)
    run = workspace.submit(job_spec(session, "churn-retrain", {}))
    while not (current := workspace.run(run.name)) or not current.terminal:
        pass
    assert current.status == "Completed"
    return run.name


def v1_bytes() -> dict[str, bytes]:
    return {p.relative_to(V1).as_posix(): p.read_bytes() for p in V1.rglob("*") if p.is_file()}
