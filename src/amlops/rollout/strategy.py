"""The strategy, pure: what traffic each step sets, whether a gate passed, and what to do next.

A step `weight: N` moves traffic N % of the way from the split before the rollout (`base`) to the
declared split; with one deployment replacing another that is "old 100-N, new N". A step
`mirror: N` keeps live traffic on `base` and mirrors N % to the new deployment that is to take most
traffic. The executor calls :func:`decide` with the measurements since the step began.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from amlops.manifests.environment import Gate, Step, Strategy
from amlops.state.record import Measurement


@dataclass(frozen=True)
class StepTraffic:
    """The endpoint's traffic and mirror while a step runs, and which deployments its gate judges."""

    step: Step
    traffic: dict[str, int]
    mirror: dict[str, int]
    judged: tuple[str, ...]

    def describe(self) -> str:
        if self.step.mirror is not None:
            return f"mirror {self.step.mirror} % to {', '.join(self.judged)}"
        return "weight " + ", ".join(f"{name} {share} %" for name, share in sorted(self.traffic.items()))


def step_traffic(strategy: Strategy, base: dict[str, int], desired: dict[str, int]) -> list[StepTraffic]:
    """The traffic of every step, from `base` to `desired` (both by Azure name, summing to 100).

    Gates judge the deployments that take traffic in `desired` but none in `base`: the new ones.
    An endpoint with no traffic yet has nothing to protect: one ungated step (the smoke test checked it).
    """
    if not base:
        return [StepTraffic(Step(weight=100), dict(desired), {}, ())]
    new = tuple(sorted((n for n in desired if desired[n] and not base.get(n)), key=lambda n: (-desired[n], n)))
    steps: list[StepTraffic] = []
    for step in strategy.steps:
        if step.mirror is not None:
            if new:  # nothing new to mirror to when only the split between old deployments changes
                steps.append(StepTraffic(step, dict(base), {new[0]: step.mirror}, new[:1]))
        else:
            steps.append(StepTraffic(step, interpolate(base, desired, step.weight or 0), {}, new))
    return steps


def interpolate(base: dict[str, int], desired: dict[str, int], weight: int) -> dict[str, int]:
    """`weight` % of the way from `base` to `desired`, in whole percents summing to 100.

    Rounded by largest remainder, so 100 % is exactly `desired`; zero shares are left out.
    """
    names = sorted(set(base) | set(desired))
    exact = {n: (base.get(n, 0) * (100 - weight) + desired.get(n, 0) * weight) / 100 for n in names}
    shares = {n: int(v) for n, v in exact.items()}
    short = 100 - sum(shares.values())
    for name in sorted(names, key=lambda n: (-(exact[n] - shares[n]), n))[:short]:
        shares[name] += 1
    return {n: s for n, s in shares.items() if s}


class Verdict(str, Enum):
    passed = "passed"
    failed = "failed"
    pending = "pending"


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str


def judge(gate: Gate, measured: Measurement) -> Judgement:
    """The gate's verdict on the requests since the step began: pending below `min_requests`."""
    if measured.requests < gate.min_requests:
        return Judgement(Verdict.pending, f"{measured.requests} of {gate.min_requests} requests")
    summary = _summary(measured)
    if measured.error_rate > gate.max_error_rate:
        return Judgement(Verdict.failed, f"error rate {measured.error_rate:.1%} > {gate.max_error_rate:.1%} ({summary})")
    if measured.p95_ms is not None and measured.p95_ms > gate.max_latency_p95_ms:
        return Judgement(Verdict.failed, f"p95 latency {measured.p95_ms:.0f} ms > {gate.max_latency_p95_ms:.0f} ms ({summary})")
    return Judgement(Verdict.passed, summary)


class Action(str, Enum):
    wait = "wait"  # keep measuring this step
    advance = "advance"  # the gate passed: set the next step's traffic
    finish = "finish"  # the last step's gate passed
    abort = "abort"  # the gate failed, or stayed inconclusive past the timeout


@dataclass(frozen=True)
class Decision:
    action: Action
    judgement: Judgement


def decide(gate: Gate, step: Step, last: bool, elapsed: float, measured: Measurement, timeout: float) -> Decision:
    """After `elapsed` seconds of `step`, with these measurements since it began: what next.

    A step lasts at least its `pause_seconds`; a gate still short of `min_requests` after `timeout`
    seconds fails as inconclusive, since finishing a rollout on no evidence is not safe.
    """
    judgement = judge(gate, measured)
    if judgement.verdict is Verdict.failed:
        return Decision(Action.abort, judgement)
    if judgement.verdict is Verdict.pending:
        if elapsed >= timeout:
            return Decision(Action.abort, Judgement(Verdict.failed, f"inconclusive after {elapsed:.0f} s: {judgement.reason}"))
        return Decision(Action.wait, judgement)
    if elapsed < step.pause_seconds:
        return Decision(
            Action.wait, Judgement(Verdict.pending, f"pausing {step.pause_seconds - elapsed:.0f} s more; {judgement.reason}")
        )
    return Decision(Action.finish if last else Action.advance, judgement)


def _summary(measured: Measurement) -> str:
    p95 = "n/a" if measured.p95_ms is None else f"{measured.p95_ms:.0f} ms"
    return f"{measured.requests} requests, {measured.errors} errors, p95 {p95}"
