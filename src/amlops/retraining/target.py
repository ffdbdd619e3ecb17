"""Which model a run retrains: its job file's `amlops.retrains` tag (checked by amlops validate) names it,
and the job's one model output holds it."""

from __future__ import annotations

from dataclasses import dataclass

from amlops.manifests import Repository
from amlops.manifests.references import ModelRef, resolve
from amlops.manifests.retrain_checks import RETRAINS, target_problems
from amlops.state import record
from amlops.workspace.interface import Run


class Refusal(Exception):
    """The run's model cannot become a candidate as asked; nothing was written."""


@dataclass(frozen=True)
class Target:
    job: str  # jobs/<job>.yml, relative to the repository
    output: str  # the job's one output: the model's files
    kind: str  # the model's type, as its latest file in models/ declares it
    model: str  # the model it is a new version of


def target_of(repo: Repository, run: Run) -> Target | None:
    """What `run` retrains, or None when it retrains nothing amlops serves (no tag, or not submitted by amlops)."""
    manifest = run.tags.get(record.MANIFEST)
    job = next((j for j in repo.jobs.values() if j.document.path == manifest), None)
    if manifest and job is None:
        raise Refusal(f"run {run.name} was submitted from {manifest}, which this repository does not have")
    if job is None:
        return None
    data, document = job.document.data, job.document
    model = (data.get("tags") or {}).get(RETRAINS)
    if model is None:
        return None
    problems = target_problems(repo, job.name)
    if problems:
        raise Refusal("; ".join(str(p) for p in problems))
    [output] = data["outputs"]
    return Target(document.path, str(output), _kind(repo, str(model)), str(model))


def _kind(repo: Repository, model: str) -> str:
    latest = resolve(ModelRef(model, None), [v for n, v in repo.models if n == model])
    assert latest is not None and latest.version is not None, "target_problems checked the model exists"
    return str(repo.models[(model, latest.version)].model.type or "custom_model")
