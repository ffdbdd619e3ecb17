"""A session's plan reads the workspace's endpoints, training assets and schedules together, and plans the same."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sample_support import copy_sample

from amlops.release.schedules import build_schedules
from amlops.release.training import build_training
from amlops.rollout.session import Session, load_release
from amlops.workspace.interface import LiveSchedule, LiveState
from amlops.workspace.memory import MemoryWorkspace


class Together(MemoryWorkspace):
    """A workspace whose reads of endpoints, of schedules and of clusters (training's) each wait for the other two:
    made one after another, the first of them never returns."""

    def __init__(self) -> None:
        super().__init__("local")
        self.together = threading.Barrier(3, timeout=30)

    def observe(self, *args: Any, **kwargs: Any) -> LiveState:
        self.together.wait()
        return super().observe(*args, **kwargs)

    def schedules(self) -> dict[str, LiveSchedule]:
        self.together.wait()
        return super().schedules()

    def clusters(self) -> set[str]:
        self.together.wait()
        return super().clusters()


def session(root: Path, workspace: MemoryWorkspace) -> Session:
    repo, release = load_release(root, "local")
    return Session(repo, release, workspace, build_training(repo, "local"), build_schedules(repo, "local", release))


def test_the_plans_reads_are_in_flight_together_and_plan_as_one_after_another(tmp_path: Path) -> None:
    root = copy_sample(tmp_path)
    together = session(root, Together()).plan()
    assert together == session(root, MemoryWorkspace("local")).plan()
    assert together.changed and together.schedules and together.assets
