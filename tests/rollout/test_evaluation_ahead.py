"""`amlops evaluate` against the in-memory workspace: the plan's comparison run ahead of apply, under apply's name,
writing nothing but that run; the plan then shows both figures, and apply finds the run and submits nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from memory_support import FakeClock
from sample_support import add_churn_version, copy_sample
from training.training_support import apply_all, session

from amlops.manifests.environment import Criterion, Evaluation, EvaluationKind
from amlops.rollout.evaluation import ATTEMPTS, Comparison, ModelRef
from amlops.rollout.evaluation_ahead import Finding, evaluate_ahead, unregistered
from amlops.rollout.evaluation_runs import Follow, GiveUp, Submit, Waiting, next_run
from amlops.rollout.render import lines
from amlops.rollout.specs import computes_of, model_spec
from amlops.state.record import Lineage
from amlops.workspace.interface import Run
from amlops.workspace.memory import MemoryWorkspace

COMPARISON = Comparison(
    "churn",
    Evaluation(kind=EvaluationKind.component, component="azureml:c:1", data="azureml:d:1", criteria=[Criterion(metric="a")]),
    ModelRef("churn", "2", "azureml:churn:2"),
    ModelRef("churn", "1", "azureml:churn:1"),
)


def run(attempt: int, status: str) -> Run:
    return Run(COMPARISON.job_name(attempt), "", "e", "command", status, "")


def test_the_next_run_of_a_comparison_is_decided_from_its_runs_alone() -> None:
    assert next_run(COMPARISON, []) == Submit(COMPARISON.job_name(1))
    assert next_run(COMPARISON, [run(1, "Running")]) == Follow(run(1, "Running"))
    assert next_run(COMPARISON, [run(1, "Failed"), run(2, "Completed")]) == Follow(run(2, "Completed"))
    assert next_run(COMPARISON, [run(1, "Canceled")]) == Submit(COMPARISON.job_name(2))
    assert isinstance(next_run(COMPARISON, [run(i, "Failed") for i in range(1, ATTEMPTS + 1)]), GiveUp)


def worse_churn(tmp_path: Path) -> tuple[Path, MemoryWorkspace]:
    """The sample's local environment serving churn:1, and churn:2 (v1's weights turned around) in the files."""
    root = copy_sample(tmp_path)
    workspace = MemoryWorkspace("local")
    assert apply_all(root, workspace).ok
    weights = json.loads((root / "models/churn/v1/weights.json").read_text())
    add_churn_version(root, "2", [-c for c in weights["coefficients"]])
    return root, workspace


def register_candidate(root: Path, workspace: MemoryWorkspace) -> None:
    """churn:2 registered as a retrain run's candidate is, before any pull request plans it."""
    s = session(root, workspace)
    (pin,) = s.plan().models
    workspace.register_model(model_spec(s.repo, pin, Lineage("local", s.release.id, None)))


def ahead(root: Path, workspace: MemoryWorkspace) -> list:
    s = session(root, workspace)
    waiting = Waiting(FakeClock(), 1, lambda message: None)
    return evaluate_ahead(workspace, s.repo, s.plan(), computes_of(s.repo, "local"), lambda endpoint: waiting)


def submitted(workspace: MemoryWorkspace) -> list[str]:
    return [w for w in workspace.writes if w.startswith("submit component")]


@pytest.mark.parametrize(("candidate", "finding"), [(0.95, Finding.passed), (0.1, Finding.failed)])
def test_evaluate_runs_the_comparison_once_and_apply_finds_it(tmp_path: Path, candidate: float, finding: Finding) -> None:
    root, workspace = worse_churn(tmp_path)
    register_candidate(root, workspace)
    workspace.model_metrics = {"churn:1": {"accuracy": 0.9}, "churn:2": {"accuracy": candidate}}
    workspace.writes.clear()

    (found,) = ahead(root, workspace)

    assert found.finding is finding and found.finding.blocks is (finding is Finding.failed)
    assert found.evaluated is not None and found.evaluated.figures == {"accuracy": (candidate, 0.9)}
    assert workspace.writes == [f"submit component azureml:churn_compare:1 as {found.evaluated.job}"]  # that run, nothing else
    row = next(r for r in lines(session(root, workspace).plan()) if r[0].strip() == "evaluation")
    verdict = "passed" if finding is Finding.passed else "failed"
    assert f"recorded so far: evaluation {verdict}: accuracy {candidate:.4g} (candidate churn:2) vs 0.9 (live churn:1)" in row[2]
    again = apply_all(root, workspace)
    assert submitted(workspace) == [f"submit component azureml:churn_compare:1 as {found.evaluated.job}"]  # no second run
    assert [f.endpoint for f in again.rolled_back] == ([] if finding is Finding.passed else ["churn"])


def test_a_candidate_only_apply_registers_is_left_to_apply_and_nothing_is_written(tmp_path: Path) -> None:
    root, workspace = worse_churn(tmp_path)
    workspace.writes.clear()
    s = session(root, workspace)
    comparison = next(e.evaluation for e in s.plan().endpoints if e.evaluation)
    assert unregistered(s.plan(), comparison) == ["model churn:2"]
    (found,) = ahead(root, workspace)
    assert found.finding is Finding.not_run and not found.finding.blocks
    assert "model churn:2 not registered yet; apply registers, then evaluates" in found.note
    assert workspace.writes == []


def test_a_comparison_run_that_fails_gives_no_verdict_and_blocks(tmp_path: Path) -> None:
    root, workspace = worse_churn(tmp_path)
    register_candidate(root, workspace)
    workspace.failing_components = {"churn_compare"}
    (found,) = ahead(root, workspace)
    assert found.finding is Finding.no_verdict and found.finding.blocks
    assert "ended Failed" in found.note
