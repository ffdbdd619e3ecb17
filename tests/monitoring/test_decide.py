"""What `amlops monitor` does about each monitor (pure), and that it starts one run per breach, against the
in-memory workspace: twice is once, a healthy or unfinished run starts nothing, a newer healthy run ends a breach."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_support import copy_sample

from amlops.manifests.load import validate_repository
from amlops.monitoring.act import run_monitors
from amlops.monitoring.decide import ANSWERS, Action, Monitor, decide
from amlops.release.training import asset_closure, build_training
from amlops.state import record
from amlops.state.record import Lineage
from amlops.training.submit import TrainingSession
from amlops.workspace.interface import ClusterSpec, MonitorRun, Run, SignalResult
from amlops.workspace.memory import MemoryWorkspace

DRIFT = Monitor("churn-drift", "churn-drift", "churn-retrain")


def result(value: float) -> SignalResult:
    return SignalResult("input_drift", "normalized_wasserstein_distance", "tenure_months", value, 0.1, value > 0.1)


def monitor_run(name: str, value: float, status: str = "Completed") -> MonitorRun:
    return MonitorRun("churn-drift", name, status, "2026-12-01T03:15:00", (result(value),))


@pytest.mark.parametrize(
    ("latest", "answers", "on_breach", "action"),
    [
        (None, {}, "churn-retrain", Action.waiting),
        (monitor_run("m1", 0.9, "Running"), {}, "churn-retrain", Action.waiting),
        (monitor_run("m1", 0.05), {}, "churn-retrain", Action.healthy),
        (monitor_run("m1", 0.9), {}, "churn-retrain", Action.start),
        (monitor_run("m1", 0.9), {"m1": "retrain-1"}, "churn-retrain", Action.answered),
        (monitor_run("m2", 0.9), {"m1": "retrain-1"}, "churn-retrain", Action.start),  # a new breach: a new run
        (monitor_run("m1", 0.9), {}, None, Action.breached),
    ],
)
def test_decide(latest, answers, on_breach, action):
    monitor = Monitor("churn-drift", "churn-drift", on_breach)
    [verdict] = decide([monitor], {"churn-drift": latest}, answers)
    assert verdict.action is action


@pytest.fixture
def session(tmp_path: Path) -> TrainingSession:
    repo, problems = validate_repository(copy_sample(tmp_path), "local")
    assert problems == []
    training = build_training(repo, "local")
    workspace = MemoryWorkspace("local")
    for pin in asset_closure(repo, [repo.jobs["churn-retrain"].document]):  # what `amlops apply` registered
        workspace.assets[(pin.kind, pin.name, pin.version)] = {record.CONTENT_HASH: pin.content_hash}
    for c in training.clusters:
        workspace.put_cluster(ClusterSpec(c.azure_name, c.vm_size, c.min_nodes, c.max_nodes, c.idle_seconds, c.low_priority))
    return TrainingSession(repo, training, workspace, Lineage("local", "r", "c" * 40))


def test_a_breached_monitor_starts_its_job_once_and_hands_the_run_on(session: TrainingSession):
    workspace = session.workspace
    assert isinstance(workspace, MemoryWorkspace)
    workspace.monitor_results["churn-drift"] = [monitor_run("m1", 0.4)]
    handed: list[tuple[Path, str, Run]] = []
    [first] = run_monitors(session, lambda root, env, run: handed.append((root, env, run)))
    assert first.verdict.action is Action.start and first.started is not None
    assert workspace.submitted[-1].tags[ANSWERS] == "m1" and workspace.submitted[-1].source.name == "churn-retrain.yml"
    assert handed == [(session.repo.root, "local", first.started)]
    [second] = run_monitors(session, lambda *args: handed.append(args))
    assert second.verdict.action is Action.answered and second.verdict.answered_by == first.started.name
    assert len(workspace.submitted) == 1 and len(handed) == 1
    workspace.monitor_results["churn-drift"] = [monitor_run("m2", 0.02), monitor_run("m1", 0.4)]
    [healthy] = run_monitors(session)
    assert healthy.verdict.action is Action.healthy and len(workspace.submitted) == 1
