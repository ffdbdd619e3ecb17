"""The sample repository against the in-memory workspace: plans, applies and runs without a server."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rollout.memory_support import SETTINGS, FakeClock

from amlops.manifests import validate_repository
from amlops.release import build_release
from amlops.release.training import build_training
from amlops.rollout.apply import ApplyResult, apply
from amlops.rollout.session import Session
from amlops.state.record import Lineage
from amlops.training.submit import TrainingSession
from amlops.workspace.memory import MemoryWorkspace


def session(root: Path, workspace: MemoryWorkspace, environment: str = "local") -> Session:
    repo, problems = validate_repository(root, environment)
    assert problems == [], problems
    return Session(repo, build_release(repo, environment), workspace, build_training(repo, environment))


def apply_all(root: Path, workspace: MemoryWorkspace, environment: str = "local") -> ApplyResult:
    s = session(root, workspace, environment)
    ctx = dataclasses.replace(s.context(lambda _event: None, SETTINGS), clock=FakeClock())
    return apply(ctx, s.plan())


def training_session(root: Path, workspace: MemoryWorkspace, environment: str = "local") -> TrainingSession:
    s = session(root, workspace, environment)
    assert s.training is not None
    return TrainingSession(s.repo, s.training, workspace, Lineage(environment, s.release.id, None))
