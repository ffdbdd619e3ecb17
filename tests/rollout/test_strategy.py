"""The strategy is pure: step traffic, gate verdicts and decisions, without any server."""

from __future__ import annotations

import pytest

from amlops.manifests.environment import Gate, Step, Strategy
from amlops.rollout.strategy import Action, Verdict, decide, interpolate, judge, step_traffic
from amlops.state.record import Measurement

GATE = Gate(max_error_rate=0.05, max_latency_p95_ms=500, min_requests=10)


def test_weight_steps_move_from_old_to_new():
    strategy = Strategy(steps=[Step(mirror=10), Step(weight=10), Step(weight=50), Step(weight=100)])
    steps = step_traffic(strategy, {"main-old": 100}, {"main-new": 100})
    assert [(s.traffic, s.mirror) for s in steps] == [
        ({"main-old": 100}, {"main-new": 10}),
        ({"main-old": 90, "main-new": 10}, {}),
        ({"main-old": 50, "main-new": 50}, {}),
        ({"main-new": 100}, {}),
    ]
    assert all(s.judged == ("main-new",) for s in steps)


def test_interpolation_keeps_whole_percents_summing_to_100():
    for weight in range(0, 101, 7):
        split = interpolate({"a": 33, "b": 67}, {"a": 50, "c": 25, "d": 25}, weight)
        assert sum(split.values()) == 100
    assert interpolate({"a": 33, "b": 67}, {"c": 100}, 100) == {"c": 100}


def test_mirror_steps_are_skipped_when_nothing_is_new():
    strategy = Strategy(steps=[Step(mirror=10), Step(weight=100)])
    steps = step_traffic(strategy, {"a": 90, "b": 10}, {"a": 50, "b": 50})
    assert [s.traffic for s in steps] == [{"a": 50, "b": 50}]
    assert steps[0].judged == ()


@pytest.mark.parametrize(
    ("measured", "verdict"),
    [
        (Measurement(9, 0, 10), Verdict.pending),
        (Measurement(10, 0, 10), Verdict.passed),
        (Measurement(10, 1, 10), Verdict.failed),  # 10 % > 5 %
        (Measurement(100, 5, 10), Verdict.passed),  # exactly 5 %
        (Measurement(20, 0, 501), Verdict.failed),
        (Measurement(20, 0, None), Verdict.passed),  # no latency measured: judged on errors alone
    ],
)
def test_gate_verdicts(measured, verdict):
    assert judge(GATE, measured).verdict is verdict


def test_decide_waits_for_requests_then_times_out_as_inconclusive():
    step = Step(weight=50)
    assert decide(GATE, step, False, 5, Measurement(3, 0, 1), timeout=60).action is Action.wait
    late = decide(GATE, step, False, 61, Measurement(3, 0, 1), timeout=60)
    assert late.action is Action.abort and "inconclusive" in late.judgement.reason


def test_decide_honours_pause_then_advances_or_finishes():
    step = Step(weight=50, pause_seconds=30)
    good = Measurement(50, 0, 20)
    assert decide(GATE, step, False, 10, good, timeout=600).action is Action.wait
    assert decide(GATE, step, False, 31, good, timeout=600).action is Action.advance
    assert decide(GATE, step, True, 31, good, timeout=600).action is Action.finish


def test_a_failed_gate_aborts_at_once_even_during_a_pause():
    decision = decide(GATE, Step(weight=10, pause_seconds=300), False, 1, Measurement(10, 5, 20), timeout=600)
    assert decision.action is Action.abort and "error rate 50.0%" in decision.judgement.reason


def test_a_new_endpoint_takes_its_traffic_in_one_ungated_step():
    steps = step_traffic(Strategy(steps=[Step(mirror=10), Step(weight=50), Step(weight=100)]), {}, {"main-new": 100})
    assert [(s.traffic, s.judged) for s in steps] == [({"main-new": 100}, ())]
