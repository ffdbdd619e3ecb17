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
import subprocess
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from amlops.manifests.environment import Step, Strategy
from amlops.release.bundle import Release
from amlops.rollout import record
from amlops.rollout.apply import ApplyResult
from amlops.rollout.assets import register_model
from amlops.rollout.executor import EndpointRollout, Events, RolloutFailed, Settings
from amlops.rollout.lineage import Lineage
from amlops.rollout.plan import plan
from amlops.rollout.record import Previous, Status
from amlops.rollout.session import Session, load_release
from amlops.workspace.observe import observe, observe_endpoint


def rollback(session: Session, endpoint: str, events: Events) -> ApplyResult:
    """Roll `endpoint` back to the release recorded as its previous one. ValueError if there is none."""
    client, environment = session.workspace.client, session.release.environment
    live = observe_endpoint(client, endpoint)
    if live is None or live.tags.get(record.ENVIRONMENT) != environment:
        raise ValueError(f"{endpoint} is not an endpoint amlops manages in {environment}")
    previous = Previous.decode(live.tags.get(record.PREVIOUS))
    if previous is None or not previous.commit:
        raise ValueError(f"{endpoint} has no previous release recorded (tag {record.PREVIOUS})")
    commit = previous.commit.removesuffix("+dirty")
    with tempfile.TemporaryDirectory(prefix="amlops-rollback-") as folder:
        root = _checkout(session.repo.root, commit, Path(folder))
        repo, release = load_release(root, environment)
        if endpoint not in release.endpoints or release.endpoint(endpoint).id != previous.release:
            raise ValueError(f"commit {commit[:12]} does not build release {previous.release} of {endpoint}")
        release = _one_step(release, endpoint)
        events(
            endpoint, f"rolling back from {live.tags.get(record.ENDPOINT_RELEASE)} to {previous.release} (commit {commit[:12]})"
        )
        lineage = Lineage(environment, release.id, previous.commit)
        ctx = dataclasses.replace(session, repo=repo, release=release).context(events, Settings(gates=False), lineage)
        for pin in plan(release, observe(client, release)).models:
            register_model(client, repo, pin, lineage)
        reason = f"rolled back from {live.tags.get(record.ENDPOINT_RELEASE)} by {getpass.getuser()}"
        result = ApplyResult()
        try:
            result.outcomes.append(EndpointRollout(ctx, endpoint, Status.rolled_back, reason).run())
        except RolloutFailed as exc:
            result.failures[endpoint] = exc.reason
            result.rolled_back.append(exc)
        return result


def _one_step(release: Release, endpoint: str) -> Release:
    """The release with `endpoint` alone, moved in one step: a rollback restores, it does not canary."""
    part = release.endpoint(endpoint)
    target = part.endpoints[endpoint]
    strategy = Strategy(steps=[Step(weight=100)], gate=target.strategy.gate)
    return dataclasses.replace(part, endpoints={endpoint: dataclasses.replace(target, strategy=strategy)})


def _checkout(root: Path, commit: str, into: Path) -> Path:
    """The repository's files at `commit`, without touching the work tree (needs the commit fetched)."""
    top = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--show-toplevel", "--show-prefix"], capture_output=True, text=True
    )
    archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", commit], capture_output=True)
    if top.returncode or archive.returncode:
        raise ValueError(
            f"cannot read commit {commit[:12]} from git ({archive.stderr.decode().strip() or top.stderr.strip()}): "
            "check out with full history (actions/checkout: fetch-depth: 0)"
        )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    prefix = top.stdout.splitlines()[1] if len(top.stdout.splitlines()) > 1 else ""
    return into / prefix
