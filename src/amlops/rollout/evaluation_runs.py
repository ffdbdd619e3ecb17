"""A comparison's run, in the converge-loop style: observe its runs by name, decide the next move with a pure
function, take it (the one write: a submission), wait for the run to end.

Apply's rollout loop (holding the endpoint's lock) and `amlops evaluate` (ahead of apply, touching nothing
that serves) both go through here, so the run a pull request's evaluate submitted is the run apply finds
later under the same name, and apply submits nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from amlops.rollout.clock import Clock
from amlops.rollout.evaluation import ATTEMPTS, EVALUATORS, Comparison, EvaluationError
from amlops.workspace.interface import JOB_TERMINAL, Run, Unavailable, Workspace

FAILED = ("Failed", "Canceled")


@dataclass(frozen=True)
class Submit:
    name: str  # the comparison's next name: none yet, or every earlier one failed


@dataclass(frozen=True)
class Follow:
    run: Run  # running, or completed: wait for it, submit nothing


@dataclass(frozen=True)
class GiveUp:
    reason: str


def observe_runs(workspace: Workspace, comparison: Comparison) -> list[Run]:
    """The comparison's runs, attempt by attempt, up to the first name nobody submitted."""
    runs = []
    for attempt in range(1, ATTEMPTS + 1):
        run = workspace.run(comparison.job_name(attempt))
        if run is None:
            break
        runs.append(run)
    return runs


def next_run(comparison: Comparison, runs: Sequence[Run]) -> Submit | Follow | GiveUp:
    """The first run that did not fail is the comparison's; after failed ones, the next name (up to ATTEMPTS)."""
    for run in runs:
        if run.status not in FAILED:
            return Follow(run)
    if len(runs) >= ATTEMPTS:
        return GiveUp(f"{ATTEMPTS} evaluation runs of this comparison failed: see {comparison.job_name(ATTEMPTS)}")
    return Submit(comparison.job_name(len(runs) + 1))


@dataclass(frozen=True)
class Waiting:
    """How a caller waits: its clock and poll, what it renews meanwhile (apply: the lock), what it checks
    before the write (apply: that the lock is still its own), and where it says what happens."""

    clock: Clock
    poll_seconds: float
    say: Callable[[str], None]
    renew: Callable[[], object] = lambda: None
    guard: Callable[[], object] = lambda: None


def run_comparison(workspace: Workspace, comparison: Comparison, computes: Mapping[str, str], waiting: Waiting) -> str | None:
    """The comparison's Completed run: found by its name, else submitted; waited for. None: its kind runs
    nothing. EvaluationError: no run completed (refused, failed, timed out)."""
    evaluator = EVALUATORS[comparison.evaluation.kind]
    if evaluator.job(comparison, comparison.job_name(), computes) is None:
        return None
    decision = next_run(comparison, observe_runs(workspace, comparison))
    match decision:
        case GiveUp(reason):
            raise EvaluationError(reason)
        case Follow(run):
            waiting.say(f"found evaluation run {run.name} ({run.status}): waiting for it, not submitting again")
        case Submit(name):
            spec = evaluator.job(comparison, name, computes)
            assert spec is not None, "only an evaluation that runs a job has runs"
            waiting.guard()
            try:
                run = workspace.submit_component(spec)
            except Unavailable:
                raise  # not the evaluation's failure: stop, and resume later
            except Exception as exc:  # the SDK raises several kinds for a refused job
                raise EvaluationError(f"evaluation run {name} was refused: {first_line(exc)}") from exc
            waiting.say(f"submitted evaluation run {run.name} ({spec.component}, on {spec.compute})")
    return _wait(workspace, run, comparison.evaluation.timeout_minutes * 60, waiting)


def _wait(workspace: Workspace, run: Run, timeout: float, waiting: Waiting) -> str:
    deadline, status = waiting.clock.time() + timeout, run.status
    while run.status not in JOB_TERMINAL:
        if waiting.clock.time() >= deadline:
            raise EvaluationError(f"evaluation run {run.name} still {run.status} after {timeout:.0f} s")
        waiting.renew()
        waiting.clock.sleep(waiting.poll_seconds)
        run = workspace.run(run.name) or run
        if run.status != status:
            status = run.status
            waiting.say(f"evaluation run {run.name}: {status}")
    if run.status != "Completed":
        raise EvaluationError(
            f"evaluation run {run.name} ended {run.status}{': ' + run.error if run.error else ''} ({run.studio_url})"
        )
    return run.name


def first_line(exc: BaseException) -> str:
    """An SDK error's message, first line: what people need of a refusal."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0]
