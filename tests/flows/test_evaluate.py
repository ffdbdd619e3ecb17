"""The evaluation flow as the gate's evaluator (amlops.flows.evaluate): both flows' metrics, the repository's
flow folders left as they were, and no figures (an error saying why) when a flow or its evaluation fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flow_support import TRIAGE_MAPPING, better_candidate

from amlops.flows.evaluate import FlowEvaluationError, evaluate_flows

REPO = Path(__file__).resolve().parents[2]
LIVE = REPO / "models" / "ticket-triage" / "v1"
EVALUATION = REPO / "flows" / "ticket-triage-eval"
DATA = EVALUATION / "data.jsonl"


def test_a_folder_without_a_flow_is_refused_before_anything_runs(tmp_path: Path):
    with pytest.raises(FlowEvaluationError, match="not a flow folder"):
        evaluate_flows(tmp_path, LIVE, DATA, evaluation=EVALUATION, column_mapping=TRIAGE_MAPPING)


def test_missing_data_is_refused_before_anything_runs(tmp_path: Path):
    with pytest.raises(FlowEvaluationError, match="no such data file"):
        evaluate_flows(LIVE, LIVE, tmp_path / "none.jsonl", evaluation=EVALUATION, column_mapping=TRIAGE_MAPPING)


@pytest.mark.slow
def test_both_flows_get_their_figures_and_their_folders_are_left_as_they_were(tmp_path: Path):
    root = tmp_path / "repo"
    shutil.copytree(REPO / "models" / "ticket-triage", root / "models" / "ticket-triage")
    live, candidate = root / "models" / "ticket-triage" / "v1", better_candidate(root, tmp_path / "candidate")
    before = files(live), files(candidate)
    metrics = evaluate_flows(candidate, live, DATA, evaluation=EVALUATION, column_mapping=TRIAGE_MAPPING)
    assert (metrics.candidate, metrics.live) == ({"accuracy": 1.0}, {"accuracy": 0.875})
    assert (files(live), files(candidate)) == before  # promptflow wrote only into copies: no run records, no caches


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_a_flow_that_fails_on_some_lines_gives_no_figures(tmp_path: Path):
    broken = tmp_path / "broken"
    shutil.copytree(LIVE, broken)
    code = broken / "classify.py"
    code.write_text(
        code.read_text().replace(
            "    lowered = text.lower()", '    if "refund" in text:\n        raise ValueError(text)\n    lowered = text.lower()'
        )
    )
    expected = r"1 failed line\(s\) of 8: the candidate flow, line 8: .*ValueError.*refund"
    with pytest.raises(FlowEvaluationError, match=expected):
        evaluate_flows(broken, LIVE, DATA, evaluation=EVALUATION, column_mapping=TRIAGE_MAPPING)
