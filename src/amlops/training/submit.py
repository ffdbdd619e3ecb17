"""Turning a job file and `--set` options into a submission, after checking the workspace has what it needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amlops.git import commit_of
from amlops.manifests import ManifestError, Repository, validate_repository
from amlops.release import build_release
from amlops.release.training import TrainingRelease, asset_closure, build_training, offline_refusal
from amlops.state.record import Lineage, version_conflict
from amlops.workspace import Workspace, open_workspace
from amlops.workspace.interface import JobSpec


class Refused(Exception):
    """The job cannot be submitted as asked; nothing was written."""


@dataclass(frozen=True)
class TrainingSession:
    repo: Repository
    training: TrainingRelease
    workspace: Workspace
    lineage: Lineage


def open_training(root: Path, environment: str, state_dir: Path | None = None) -> TrainingSession:
    """Validated manifests, then the workspace: bad input stops before anything in Azure is read."""
    repo, problems = validate_repository(root, environment)
    if problems:
        raise ManifestError(problems)
    lineage = Lineage(environment, build_release(repo, environment).id, commit_of(repo.root))
    workspace = open_workspace(repo.environments[environment].environment, state_dir)
    return TrainingSession(repo, build_training(repo, environment), workspace, lineage)


def parse_sets(sets: list[str]) -> dict[str, str]:
    """`inputs.NAME=VALUE` options as {NAME: VALUE}."""
    inputs: dict[str, str] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("inputs.") or not key[len("inputs.") :]:
            raise Refused(f"--set {item!r}: expected inputs.NAME=VALUE")
        inputs[key[len("inputs.") :]] = value
    return inputs


def job_spec(session: TrainingSession, job: str, inputs: dict[str, str]) -> JobSpec:
    """The submission of `job` with `inputs` overridden; refused unless the workspace has its asset versions."""
    training, repo = session.training, session.repo
    if job not in training.jobs:
        raise Refused(f"{training.environment} runs no job {job!r} (its jobs: {', '.join(training.jobs) or 'none'})")
    refusal = offline_refusal(job, training.jobs[job]) if training.local else None
    if refusal:
        raise Refused(refusal)
    file = repo.jobs[job]
    declared = file.document.data.get("inputs") or {}
    unknown = sorted(set(inputs) - set(declared))
    if unknown:
        raise Refused(f"job {job} has no input {', '.join(unknown)} (its inputs: {', '.join(declared) or 'none'})")
    problems = []
    for pin in asset_closure(repo, [file.document]):
        tags = session.workspace.asset_tags(pin.kind, pin.name, pin.version)
        what = f"{pin.kind.noun} {pin.name}:{pin.version}"
        problem = f"{what} is not registered" if tags is None else version_conflict(what, tags, pin.path, pin.content_hash)
        if problem:
            problems.append(problem)
    if problems:
        raise Refused("; ".join(problems) + f": run `amlops apply --env {training.environment}` first")
    tags = session.lineage.tags(file.document.path)
    return JobSpec(repo.root / file.document.path, training.computes, inputs, tags)
