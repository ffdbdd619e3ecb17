"""`rollback`: an endpoint back to its previous release, rebuilt from the commit that released it.

The previous release's deployments were deleted when the new one was rolled out, so rolling back is a
rollout of the previous release: its manifests are read from git at the recorded commit, its
deployments recreated and smoke-tested, then traffic moves in one step without gates (that release
already proved itself). The record says `rolled_back`, and who did it, so `status` and the next
`plan` show that git still declares the newer release.
"""

from __future__ import annotations

import dataclasses
import getpass
import tempfile
from pathlib import Path

from amlops.git import DIRTY, GitError, extract
from amlops.manifests.environment import Step, Strategy
from amlops.release.bundle import Release
from amlops.rollout.apply import ApplyResult, register_models
from amlops.rollout.loop import Events, RolloutFailed, Settings
from amlops.rollout.plan import models_to_check, plan
from amlops.rollout.session import Session, load_release
from amlops.state import record
from amlops.state.record import Lineage, Previous, Status


def rollback(session: Session, endpoint: str, events: Events) -> ApplyResult:
    """Roll `endpoint` back to the release recorded as its previous one. ValueError if there is none."""
    workspace, environment = session.workspace, session.release.environment
    live = workspace.endpoint(endpoint)
    if live is None or live.tags.get(record.ENVIRONMENT) != environment:
        raise ValueError(f"{endpoint} is not an endpoint amlops manages in {environment}")
    previous = Previous.decode(live.tags.get(record.PREVIOUS))
    if previous is None or not previous.commit:
        raise ValueError(f"{endpoint} has no previous release recorded (tag {record.PREVIOUS})")
    if previous.commit.endswith(DIRTY):
        raise ValueError(
            f"{endpoint}'s previous release {previous.release} was applied from uncommitted changes on top of "
            f"{previous.commit.removesuffix(DIRTY)[:12]}: no commit builds it, so it cannot be rebuilt; "
            "roll back by reverting in git and applying"
        )
    commit = previous.commit
    with tempfile.TemporaryDirectory(prefix="amlops-rollback-") as folder:
        try:
            root = extract(session.repo.root, commit, Path(folder))
        except GitError as exc:
            raise ValueError(str(exc)) from exc
        repo, release = load_release(root, environment)
        if endpoint not in release.endpoints or release.endpoint(endpoint).id != previous.release:
            raise ValueError(f"commit {commit[:12]} does not build release {previous.release} of {endpoint}")
        release = _one_step(release, endpoint)
        was = live.tags.get(record.ENDPOINT_RELEASE)
        events(endpoint, f"rolling back from {was} to {previous.release} (commit {commit[:12]})")
        lineage = Lineage(environment, release.id, previous.commit)
        ctx = dataclasses.replace(session, repo=repo, release=release).context(events, Settings(), lineage)
        pins = [(p.name, p.version) for p in models_to_check(release)]
        result = ApplyResult()
        register_models(ctx, plan(release, workspace.observe([endpoint], pins)), result)
        reason = f"rolled back from {was} by {getpass.getuser()}"
        try:
            result.outcomes.append(ctx.rollout(endpoint, status=Status.rolled_back, reason=reason, gates=False).run())
        except RolloutFailed as exc:
            result.failed(endpoint, exc)
        return result


def _one_step(release: Release, endpoint: str) -> Release:
    """The release with `endpoint` alone, moved in one step: a rollback restores, it does not canary."""
    part = release.endpoint(endpoint)
    target = part.endpoints[endpoint]
    strategy = Strategy(steps=[Step(weight=100)], gate=target.strategy.gate)
    return dataclasses.replace(part, endpoints={endpoint: dataclasses.replace(target, strategy=strategy)})
