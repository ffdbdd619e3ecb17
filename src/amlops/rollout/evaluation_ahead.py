"""`amlops evaluate`: the comparisons a plan's evaluations name, run ahead of apply, so that a pull request's plan
comment shows both models' figures and the verdict for a component evaluation too, not only for logged metrics.

It writes nothing but those runs: no endpoint, deployment, traffic, lock or registration. Each run is named as
apply names it (`Comparison.job_name`), so apply later finds it completed and submits nothing. A run can only
name what the workspace has: a candidate apply has yet to register (a model version added by hand in the pull
request) is evaluated by apply, after it registers it; a retrain candidate, or a release promoted through the
registry, is registered already.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum

from amlops.manifests.environment import EvaluationKind
from amlops.manifests.repository import Repository
from amlops.rollout.evaluation import Comparison, EvaluationError, verdict
from amlops.rollout.evaluation_preview import preview
from amlops.rollout.evaluation_runs import Waiting, run_comparison
from amlops.rollout.plan import Plan
from amlops.state.evaluation import Evaluated
from amlops.workspace.interface import Workspace


class Finding(Enum):
    passed = "passed"
    failed = "failed"  # the candidate loses: apply will refuse it
    no_verdict = "no verdict"  # the run failed or wrote no figures: apply would abort too
    not_run = "not run"  # it names what only apply registers: apply evaluates it

    @property
    def blocks(self) -> bool:
        """Whether apply would refuse the candidate: what fails a CI step."""
        return self in (Finding.failed, Finding.no_verdict)


@dataclass(frozen=True)
class Ahead:
    """One endpoint's evaluation, ahead of apply: the verdict with both figures, or why there is none."""

    endpoint: str
    comparison: Comparison
    finding: Finding
    evaluated: Evaluated | None = None
    note: str = ""


def comparisons(plan: Plan) -> list[Comparison]:
    """The evaluations the plan names: those of the endpoints it changes, as apply will run them."""
    return [e.evaluation for e in plan.endpoints if e.changed and e.evaluation]


def unregistered(plan: Plan, comparison: Comparison) -> list[str]:
    """What the comparison's run would name that apply has yet to register: models, component, data asset."""
    models = {f"{p.name}:{p.version}" for p in plan.models}
    assets = {p.reference for p in plan.assets}
    missing = [f"model {m.label}" for m in (comparison.candidate, comparison.live) if m and m.label in models]
    evaluation = comparison.evaluation
    named = (("component", evaluation.component), ("data asset", evaluation.data))
    return missing + [f"{what} {ref}" for what, ref in named if ref and f"azureml:{ref.removeprefix('azureml:')}" in assets]


def evaluate_ahead(
    workspace: Workspace,
    repo: Repository,
    plan: Plan,
    computes: Mapping[str, str],
    waiting: Callable[[str], Waiting],
) -> list[Ahead]:
    """Each comparison of the plan, in parallel (runs mostly wait on Azure): observed, submitted if no run of it
    exists, waited for, and judged from what it wrote. `waiting(endpoint)` says how to wait for one."""
    found = comparisons(plan)
    if not found:
        return []
    with ThreadPoolExecutor(min(len(found), 16), "evaluate") as pool:
        return list(pool.map(lambda c: _one(workspace, repo, plan, c, computes, waiting(c.endpoint)), found))


def _one(
    workspace: Workspace, repo: Repository, plan: Plan, comparison: Comparison, computes: Mapping[str, str], waiting: Waiting
) -> Ahead:
    runs = comparison.live is not None and comparison.evaluation.kind is EvaluationKind.component
    missing = unregistered(plan, comparison) if runs else []
    if missing:
        note = f"not run before apply: {', '.join(missing)} not registered yet; apply registers, then evaluates"
        return Ahead(comparison.endpoint, comparison, Finding.not_run, note=note)
    try:
        run = run_comparison(workspace, comparison, computes, waiting) if runs else None
    except EvaluationError as exc:
        return Ahead(comparison.endpoint, comparison, Finding.no_verdict, note=str(exc))
    result = preview(workspace, comparison, repo)
    if result is None:
        return Ahead(comparison.endpoint, comparison, Finding.no_verdict, note=f"evaluation run {run} wrote no figures")
    return Ahead(comparison.endpoint, comparison, Finding.passed if result.passed else Finding.failed, result)


def describe(ahead: Ahead) -> str:
    """One line for people: the verdict with both figures and what was asked, or why there is none."""
    if ahead.evaluated is None:
        return f"{ahead.finding.value}: {ahead.note}"
    run = f"; run {ahead.evaluated.job}" if ahead.evaluated.job else ""
    return verdict(ahead.evaluated, ahead.comparison.evaluation) + run


def to_json(found: list[Ahead]) -> list[dict[str, object]]:
    return [
        {
            "endpoint": a.endpoint,
            "finding": a.finding.value,
            "candidate": a.comparison.candidate.label,
            "live": a.comparison.live.label if a.comparison.live else None,
            "figures": {m: {"candidate": c, "live": v} for m, (c, v) in (a.evaluated.figures if a.evaluated else {}).items()},
            "job": a.evaluated.job if a.evaluated else None,
            "note": a.note,
        }
        for a in found
    ]


def markdown(environment: str, found: list[Ahead]) -> str:
    """For the job summary: one row per endpoint."""
    if not found:
        return f"### amlops evaluate: `{environment}`\n\nNo evaluation to run: no changed endpoint has one."
    rows = "\n".join(f"| {a.endpoint} | {a.finding.value} | {describe(a).replace('|', '/')} |" for a in found)
    return f"### amlops evaluate: `{environment}`\n\n| endpoint | finding | detail |\n|---|---|---|\n{rows}"
