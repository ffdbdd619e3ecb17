"""Everything a command needs for one environment: validated manifests, its release, its workspace.

Manifests are validated before the workspace is even opened, so bad input stops with every problem
named (file:line:column: field) and nothing written, nor read, in Azure.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from amlops.git import DIRTY, commit_of
from amlops.manifests import ManifestError, Repository, validate_repository
from amlops.release import Release, build_release
from amlops.release.schedules import ScheduleRelease, build_schedules
from amlops.release.training import TrainingRelease, build_training
from amlops.rollout.apply import Context, Refused
from amlops.rollout.autoscale import autoscale_changes
from amlops.rollout.evaluation_preview import with_previews
from amlops.rollout.events import Event, Events, Phase
from amlops.rollout.loop import Settings
from amlops.rollout.plan import Plan, models_to_check, plan
from amlops.rollout.schedules import observe_baselines, plan_schedules
from amlops.rollout.training import observe_training, plan_training
from amlops.state.record import Lineage
from amlops.workspace import Workspace, open_workspace
from amlops.workspace.interface import poll_seconds


@dataclass(frozen=True)
class Session:
    repo: Repository
    release: Release
    workspace: Workspace
    training: TrainingRelease | None = None
    schedules: dict[str, ScheduleRelease] | None = None

    def plan(self) -> Plan:
        """The plan, from reads of the workspace made together: training's and schedules' go out beside the
        endpoints' (each waits on the workspace, none on another); an error is raised in the order they were read
        one after another."""
        with ThreadPoolExecutor(3, thread_name_prefix="plan") as pool:
            training = None if self.training is None else pool.submit(observe_training, self.workspace, self.training)
            schedules = None
            if self.schedules is not None:
                schedules = pool.submit(self.workspace.schedules), pool.submit(observe_baselines, self.workspace, self.schedules)
            pins = [(p.name, p.version) for p in models_to_check(self.release)]
            serving = with_previews(
                plan(self.release, self.workspace.observe(self.release.endpoints, pins)), self.workspace, self.repo
            )
            lineage = Lineage(self.release.environment, self.release.id, None)  # tags are not compared
            scaling = autoscale_changes(self.workspace, self.repo, self.release, lineage, serving.retire_endpoints)
            serving = dataclasses.replace(serving, autoscale=scaling)
            if self.training is not None and training is not None:
                serving = plan_training(serving, self.training, training.result())
            if self.schedules is None or schedules is None:
                return serving
            live, baselines = schedules
            return plan_schedules(serving, self.schedules, live.result(), baselines.result())

    def context(self, events: Events, settings: Settings | None = None, lineage: Lineage | None = None) -> Context:
        base = settings or Settings()
        if self.workspace.local:
            # No users send traffic there, and its reads cost no quota: poll as often as a deployment may change.
            base = dataclasses.replace(base, synthetic_load=True, poll_seconds=poll_seconds(self.workspace, base.poll_seconds))
        lineage = lineage or Lineage(self.release.environment, self.release.id, checked_commit(self.repo.root, events))
        return Context(
            self.workspace, self.repo, self.release, lineage, base, events, training=self.training, schedules=self.schedules
        )


def load_release(root: Path, environment: str) -> tuple[Repository, Release]:
    """The validated repository and `environment`'s release; ManifestError names every problem."""
    repo, problems = validate_repository(root, environment)
    if problems:
        raise ManifestError(problems)
    return repo, build_release(repo, environment)


def open_session(root: Path, environment: str, state_dir: Path | None = None) -> Session:
    repo, release = load_release(root, environment)
    workspace = open_workspace(repo.environments[environment].environment, state_dir)
    return Session(repo, release, workspace, build_training(repo, environment), build_schedules(repo, environment, release))


def checked_commit(root: Path, events: Events) -> str | None:
    """The commit an apply records: HEAD, or `HEAD+dirty` for a work tree with uncommitted changes, which no
    commit builds (so no rollback can rebuild it). Refused in CI (`CI=true`), where what is applied must be
    a commit; a warning on a workstation."""
    commit = commit_of(root)
    if commit is None or not commit.endswith(DIRTY):
        return commit
    head = commit.removesuffix(DIRTY)[:12]
    if os.environ.get("CI", "").lower() == "true":
        raise Refused(f"the work tree has uncommitted changes on top of {head}: in CI, apply only a commit")
    warning = f"warning: uncommitted changes on top of {head}: recorded as {head}{DIRTY}, which no rollback can rebuild"
    events(Event("apply", Phase.warning, warning))
    return commit
