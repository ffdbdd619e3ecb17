"""`apply`: carry a plan out. Clusters (on local) and asset versions first, then models, then every changed
endpoint in parallel, then batch endpoints, then deletions.

Endpoints are independent, so each rolls out in its own thread under its own lock; one endpoint's
failed gate does not stop the others, and the result lists every outcome.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from amlops.manifests.repository import Repository
from amlops.release.bundle import Release
from amlops.release.training import TrainingRelease
from amlops.rollout.loop import Clock, EndpointRollout, Events, Outcome, RolloutFailed, Settings
from amlops.rollout.plan import Change, Plan
from amlops.rollout.specs import model_spec, rollout_of, serverless_spec
from amlops.rollout.training import apply_batch, apply_training
from amlops.state.record import Lineage
from amlops.workspace.interface import Workspace


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
    events: Events = lambda endpoint, message: None
    clock: Clock | None = None
    training: TrainingRelease | None = None  # what the environment trains: assets, clusters, batch endpoints

    def rollout(self, endpoint: str, release: Release | None = None, **target: object) -> EndpointRollout:
        """The loop for one endpoint of `release` (default: the context's)."""
        rollout = rollout_of(self.repo, release or self.release, endpoint, self.lineage, **target)  # type: ignore[arg-type]
        return EndpointRollout(self.workspace, rollout, self.settings, self.events, self.clock)


@dataclass
class ApplyResult:
    registered: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # endpoint -> what went wrong
    rolled_back: list[RolloutFailed] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def failed(self, endpoint: str, error: BaseException) -> None:
        self.failures[endpoint] = str(error)
        if isinstance(error, RolloutFailed):
            self.rolled_back.append(error)


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
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(changed))), thread_name_prefix="rollout") as pool:
            futures = {e.name: pool.submit(ctx.rollout(e.name).run) for e in changed}
        for name, future in futures.items():
            error = future.exception()
            if error is None:
                result.outcomes.append(future.result())
            else:
                result.failed(name, error)
    if ctx.training is not None:
        apply_batch(ctx.workspace, ctx.repo, ctx.training, plan, ctx.lineage, ctx.events)
    for name in plan.retire_endpoints:
        ctx.events(name, "deleting the endpoint: no longer in the manifests")
        ctx.workspace.delete_endpoint(name)
    return result


def register_models(ctx: Context, plan: Plan, result: ApplyResult) -> None:
    for pin in plan.models:
        ctx.events("models", f"registering {pin.name}:{pin.version}")
        ctx.workspace.register_model(model_spec(ctx.repo, pin, ctx.lineage))
        result.registered.append(f"{pin.name}:{pin.version}")


def _serverless(ctx: Context, plan: Plan) -> None:
    for change in plan.serverless:
        if change.change in (Change.delete, Change.replace):
            ctx.events(change.name, "deleting the serverless endpoint")
            ctx.workspace.delete_serverless(change.name)
        if change.change in (Change.create, Change.replace):
            ctx.events(change.name, f"creating the serverless endpoint for {change.model_id}")
            ctx.workspace.put_serverless(serverless_spec(ctx.repo, change.name, change.model_id, ctx.lineage))
