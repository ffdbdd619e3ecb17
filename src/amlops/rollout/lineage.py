"""Lineage: which commit and release put an asset into a workspace, written as tags on every asset."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from amlops.rollout import record


@dataclass(frozen=True)
class Lineage:
    environment: str
    release: str  # the environment's release id
    commit: str | None  # None outside a git repository

    def tags(self, manifest: str) -> dict[str, str]:
        return {
            record.ENVIRONMENT: self.environment,
            record.RELEASE: self.release,
            record.COMMIT: self.commit or "",
            record.MANIFEST: record.fit(manifest),
        }


def git_commit(root: Path) -> str | None:
    """HEAD of the repository at `root`, marked `+dirty` when the work tree has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}+dirty" if dirty.strip() else head
