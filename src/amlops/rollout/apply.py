"""`apply`: carry a plan out. Clusters (on local) and asset versions first, then models, then every changed
endpoint in parallel, then batch endpoints, then deletions.

Endpoints are independent, so each rolls out in its own thread under its own lock; one endpoint's
failed gate does not stop the others, and the result lists every outcome.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from amlops.manifests.repository import Repository
from amlops.release.bundle import Release
from amlops.release.schedules import ScheduleRelease
from amlops.release.training import TrainingRelease
from amlops.rollout.autoscale import apply_autoscale, autoscale_changes
from amlops.rollout.clock import Clock
from amlops.rollout.events import Event, Events, Phase, ignore
from amlops.rollout.lock import EndpointBusy
from amlops.rollout.loop import EndpointRollout, Interrupted, Outcome, RolloutFailed, Settings
from amlops.rollout.plan import Change, Plan
from amlops.rollout.schedules import apply_schedules
from amlops.rollout.specs import model_spec, rollout_of, serverless_spec
from amlops.rollout.training import apply_batch, apply_training
from amlops.state import record
from amlops.state.live import nonzero
from amlops.state.record import Lineage, Lock, RolloutRecord, Status
from amlops.workspace.interface import Unavailable, Workspace


class Refused(Exception):
    """The plan cannot be applied as it stands (e.g. different content under a registered version)."""


@dataclass(frozen=True)
class Context:
    """What an apply works with: the workspace, the validated repository and its release, and how to act."""

    workspace: Workspace
    repo: Repository
    release: Release
    lineage: Lineage
    settings: Settings = Settings()
    events: Events = ignore
    clock: Clock | None = None
    stop: threading.Event = field(default_factory=threading.Event)  # set: every rollout stops at its next step
    training: TrainingRelease | None = None  # what the environment trains: assets, clusters, batch endpoints
    schedules: dict[str, ScheduleRelease] | None = None  # job schedules and model monitors

    def rollout(self, endpoint: str, release: Release | None = None, **target: object) -> EndpointRollout:
        """The loop for one endpoint of `release` (default: the context's)."""
        rollout = rollout_of(self.repo, release or self.release, endpoint, self.lineage, **target)  # type: ignore[arg-type]
        return EndpointRollout(self.workspace, rollout, self.settings, self.events, self.clock, self.stop)


@dataclass
class ApplyResult:
    registered: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # endpoint -> what went wrong
    rolled_back: list[RolloutFailed] = field(default_factory=list)
    stopped: dict[str, str] = field(default_factory=dict)  # endpoint -> what the interruption left, to resume

    @property
    def ok(self) -> bool:
        return not self.failures

    def failed(self, endpoint: str, error: BaseException) -> None:
        self.failures[endpoint] = str(error)
        if isinstance(error, RolloutFailed):
            self.rolled_back.append(error)


#: What stops a rollout without undoing it: it resumes from its record when apply runs again.
INTERRUPTIONS = (Interrupted, Unavailable, EndpointBusy)


def left_behind(workspace: Workspace, endpoint: str) -> str:
    """What an interrupted rollout left on the endpoint, as one line: step, traffic, deployments, lock."""
    try:
        live = workspace.endpoint(endpoint)
    except Exception as exc:  # Azure may still be unreachable: say so rather than fail the report
        return f"its state could not be read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if live is None:
        return "the endpoint does not exist yet"
    running = RolloutRecord.decode(live.tags.get(record.ROLLOUT))
    lock = Lock.decode(live.tags.get(record.LOCK))
    step = f"at step {running.step + 1} of its rollout" if running and running.status is Status.running else "between steps"
    held = f"held by {lock.holder} until {time.strftime('%H:%M:%S', time.localtime(lock.expires))}" if lock else "released"
    return (
        f"{step}; traffic {nonzero(live.traffic) or 'none'}, mirror {nonzero(live.mirror_traffic) or 'none'}, "
        f"deployments {', '.join(f'{n} ({d.provisioning_state})' for n, d in sorted(live.deployments.items())) or 'none'}; "
        f"lock {held}"
    )


def apply(ctx: Context, plan: Plan, workers: int = 32) -> ApplyResult:
    """Make the workspace serve `plan`'s release. A plan without changes makes no write at all.

    Rollouts mostly wait on Azure (provisioning, gates), so threads, not cores, bound `workers`.
    """
    if plan.conflicts:
        raise Refused("\n".join(plan.conflicts))
    result = ApplyResult()
    if ctx.training is not None:
        result.registered += apply_training(ctx.workspace, ctx.repo, ctx.training, plan, ctx.lineage, ctx.events)
    register_models(ctx, plan, result)
    _serverless(ctx, plan)
    changed = plan.changed_endpoints
    if changed:
        with ctrl_c_stops(ctx), ThreadPoolExecutor(max(1, min(workers, len(changed))), "rollout") as pool:
            futures = {e.name: pool.submit(ctx.rollout(e.name).run) for e in changed}
        for name, future in futures.items():
            error = future.exception()
            if error is None:
                result.outcomes.append(future.result())
                continue
            if isinstance(error, INTERRUPTIONS):
                result.stopped[name] = left_behind(ctx.workspace, name)
            else:
                ctx.events(Event(name, Phase.failed, f"failed: {str(error).splitlines()[0]}"))
            result.failed(name, error)
    if ctx.stop.is_set() or result.stopped:  # interrupted: what runs after the rollouts waits for the next apply
        return result
    _autoscale(ctx, plan, result)
    if ctx.training is not None:
        apply_batch(ctx.workspace, ctx.repo, ctx.training, plan, ctx.lineage, ctx.events)
    for name in plan.retire_endpoints:
        ctx.events(Event(name, Phase.endpoint, "deleting the endpoint: no longer in the manifests"))
        ctx.workspace.delete_endpoint(name)
    if ctx.schedules is not None and not result.failures:  # a monitor names the deployment the rollout made live
        apply_schedules(ctx.workspace, ctx.repo, ctx.schedules, ctx.training, plan, ctx.lineage, ctx.events)
    return result


@contextmanager
def ctrl_c_stops(ctx: Context) -> Iterator[None]:
    """While rollouts run, Ctrl-C asks each to stop before its next write (its record says where it is)
    instead of killing the process mid-write; a second Ctrl-C is Python's KeyboardInterrupt again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT) or signal.default_int_handler

    def stop(signum: int, frame: object) -> None:
        ctx.stop.set()
        signal.signal(signal.SIGINT, previous)
        ctx.events(
            Event("apply", Phase.stopped, "interrupted: every rollout stops before its next write (Ctrl-C again to quit at once)")
        )

    signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def register_models(ctx: Context, plan: Plan, result: ApplyResult) -> None:
    for pin in plan.models:
        ctx.events(Event("models", Phase.model, f"registering {pin.name}:{pin.version}"))
        ctx.workspace.register_model(model_spec(ctx.repo, pin, ctx.lineage))
        result.registered.append(f"{pin.name}:{pin.version}")


def _serverless(ctx: Context, plan: Plan) -> None:
    for change in plan.serverless:
        if change.change in (Change.delete, Change.replace):
            ctx.events(Event(change.name, Phase.endpoint, "deleting the serverless endpoint"))
            ctx.workspace.delete_serverless(change.name)
        if change.change in (Change.create, Change.replace):
            ctx.events(Event(change.name, Phase.endpoint, f"creating the serverless endpoint for {change.model_id}"))
            ctx.workspace.put_serverless(serverless_spec(ctx.repo, change.name, change.model_id, ctx.lineage))


def _autoscale(ctx: Context, plan: Plan, result: ApplyResult) -> None:
    """After the rollouts: autoscale settings, from a fresh read, for endpoints whose rollout completed (or had
    none to do). A failed, rolled-back or interrupted endpoint keeps its settings as they were."""
    changes = autoscale_changes(ctx.workspace, ctx.repo, ctx.release, ctx.lineage, plan.retire_endpoints)
    apply_autoscale(ctx.workspace, tuple(c for c in changes if c.endpoint not in result.failures), ctx.events)
