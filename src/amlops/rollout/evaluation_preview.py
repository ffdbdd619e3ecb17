"""What a plan shows of an evaluation beyond what it will run: the figures already recorded, read only.

A pull request's plan comes before any apply, so a component's figures exist only if that comparison
ran before (its run is named from what it compares: a failed apply's, or a re-plan's); metrics the
training runs logged exist as soon as the model versions do, in the workspace or, for a version not
registered yet, in its model file. Either way the plan comment can show both models' figures and the
verdict they give now.
"""

from __future__ import annotations

import dataclasses

from amlops.manifests.environment import EvaluationKind
from amlops.manifests.repository import Repository
from amlops.rollout.evaluation import (
    EVALUATORS,
    Comparison,
    EvaluationError,
    ModelRef,
    judge,
    recorded_metrics,
    without_live,
)
from amlops.rollout.evaluation_runs import observe_runs
from amlops.rollout.plan import Plan
from amlops.state.evaluation import Evaluated
from amlops.workspace.interface import Workspace


def with_previews(plan: Plan, workspace: Workspace, repo: Repository) -> Plan:
    endpoints = tuple(
        dataclasses.replace(e, preview=preview(workspace, e.evaluation, repo)) if e.changed and e.evaluation else e
        for e in plan.endpoints
    )
    return dataclasses.replace(plan, endpoints=endpoints)


def preview(workspace: Workspace, comparison: Comparison, repo: Repository) -> Evaluated | None:
    """The verdict from the figures recorded now, or None when there are none yet (a component not yet run)."""
    if comparison.live is None:
        return without_live(comparison)
    if comparison.evaluation.kind is EvaluationKind.logged_metrics:
        names = [c.metric for c in comparison.evaluation.criteria]
        candidate, live = (recorded_metrics(_record(workspace, repo, m), names) for m in (comparison.candidate, comparison.live))
        return judge(comparison, candidate, live, None)
    completed = [run.name for run in observe_runs(workspace, comparison) if run.status == "Completed"]
    if not completed:
        return None
    try:
        return judge(
            comparison, *EVALUATORS[comparison.evaluation.kind].figures(workspace, comparison, completed[-1]), completed[-1]
        )
    except EvaluationError:
        return None


def _record(workspace: Workspace, repo: Repository, model: ModelRef) -> dict[str, object]:
    """What a model version records: in the workspace, else in its model file (properties, then tags)."""
    found = workspace.model_properties(model.name, model.version)
    if found is not None:
        return dict(found)
    file = repo.models.get((model.name, model.version))
    data = file.document.data if file else None
    if not isinstance(data, dict):
        return {}
    return {**dict(data.get("properties") or {}), **dict(data.get("tags") or {})}
