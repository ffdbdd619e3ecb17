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
