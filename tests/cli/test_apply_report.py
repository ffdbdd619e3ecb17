"""What `amlops apply` prints when a rollout stopped: why, what it left, and that apply again resumes."""

from __future__ import annotations

from amlops.cli.rollout import _report
from amlops.rollout.apply import ApplyResult


def test_a_stopped_rollout_says_what_it_left_and_how_to_resume(capsys) -> None:
    result = ApplyResult()
    result.failures["churn"] = "Azure ML answered 503: Service Unavailable"
    result.stopped["churn"] = "at step 2 of its rollout; traffic {'main-1': 50, 'main-2': 50}, mirror none, deployments ..."
    _report(result, 1.0)
    printed = capsys.readouterr().err
    assert "churn: stopped: Azure ML answered 503: Service Unavailable" in printed
    assert "left at step 2 of its rollout; traffic {'main-1': 50, 'main-2': 50}" in printed
    assert "run apply again to resume from there" in printed
    assert "0 endpoint(s) rolled out, 0 failed, 1 stopped" in printed
    assert "rolled back" not in printed


def test_the_report_and_the_job_summary_show_both_models_figures(capsys) -> None:
    from types import SimpleNamespace

    from amlops.cli.rollout import _summary
    from amlops.rollout.loop import Outcome, RolloutFailed
    from amlops.state.evaluation import Evaluated

    won = Evaluated("credit-risk:2", "credit-risk:1", True, {"auc": (0.91, 0.9)}, "amlops-eval-credit-risk-1")
    lost = Evaluated("churn:2", "churn:1", False, {"accuracy": (0.7, 0.9)}, "amlops-eval-churn-1")
    result = ApplyResult(outcomes=[Outcome("credit-risk", "r2", evaluated=won)])
    result.failed("churn", RolloutFailed("churn", f"{lost.describe()} (asked: accuracy higher is better)", [], lost))
    _report(result, 1.0)
    printed = capsys.readouterr().err
    assert "credit-risk: evaluation passed: auc 0.91 (candidate credit-risk:2) vs 0.9 (live credit-risk:1)" in printed
    assert "churn: rolled back: evaluation failed: accuracy 0.7 (candidate churn:2) vs 0.9 (live churn:1)" in printed
    environment = SimpleNamespace(platform=SimpleNamespace(value="local"), azure=None)
    session = SimpleNamespace(
        release=SimpleNamespace(environment="local", alias="a", id="i"),
        repo=SimpleNamespace(environments={"local": SimpleNamespace(environment=environment)}),
    )
    summary = _summary(session, result, 1.0)  # type: ignore[arg-type]
    assert "| credit-risk | :white_check_mark: rolled out | evaluation passed: auc 0.91 (candidate credit-risk:2)" in summary
    assert "| evaluation failed: accuracy 0.7 (candidate churn:2) vs 0.9 (live churn:1) |" in summary


def test_the_endpoints_test_predictions_are_asked_for_together_and_printed_in_turn(tmp_path, capsys) -> None:
    import threading

    from sample_support import copy_sample
    from training.training_support import apply_all, session

    from amlops.cli.rollout import _print_endpoints
    from amlops.workspace.memory import MemoryWorkspace

    class Together(MemoryWorkspace):
        """Once `together` is set, each scoring request waits for the other endpoint's: one after another, neither returns."""

        together: threading.Barrier | None = None

        def invoke(self, endpoint: str, body: bytes, deployment: str | None = None):  # type: ignore[no-untyped-def]
            if self.together is not None:
                self.together.wait()
            return super().invoke(endpoint, body, deployment)

    root, workspace = copy_sample(tmp_path), Together("local")
    assert apply_all(root, workspace).ok
    capsys.readouterr()
    workspace.together = threading.Barrier(2, timeout=30)
    _print_endpoints(session(root, workspace))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == ["churn", "credit-risk"]
    assert [line.startswith("    test prediction: ") for line in lines] == [False, True, False, True], lines
