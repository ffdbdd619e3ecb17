"""`apply`: carry a plan out. Models first, then every changed endpoint in parallel, then deletions.

Endpoints are independent, so each rolls out in its own thread under its own lock; one endpoint's
failed gate does not stop the others, and the result lists every outcome.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from azure.ai.ml.entities import ServerlessEndpoint

from amlops.rollout.assets import register_model
from amlops.rollout.executor import Context, EndpointRollout, Outcome, RolloutFailed
from amlops.rollout.plan import Change, Plan


class Refused(Exception):
    """The plan cannot be applied as it stands (e.g. different content under a registered version)."""


@dataclass
class ApplyResult:
    registered: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # endpoint -> what went wrong
    rolled_back: list[RolloutFailed] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def apply(ctx: Context, plan: Plan, workers: int = 32) -> ApplyResult:
    """Make the workspace serve `plan`'s release. A plan without changes makes no write at all.

    Rollouts mostly wait on Azure (provisioning, gates), so threads, not cores, bound `workers`.
    """
    if plan.conflicts:
        raise Refused("\n".join(plan.conflicts))
    result = ApplyResult()
    for pin in plan.models:
        ctx.events("models", f"registering {pin.name}:{pin.version}")
        register_model(ctx.client, ctx.repo, pin, ctx.lineage)
        result.registered.append(f"{pin.name}:{pin.version}")
    _serverless(ctx, plan)
    changed = plan.changed_endpoints
    if changed:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(changed))), thread_name_prefix="rollout") as pool:
            futures = {e.name: pool.submit(EndpointRollout(ctx, e.name).run) for e in changed}
        for name, future in futures.items():
            error = future.exception()
            if error is None:
                result.outcomes.append(future.result())
            else:
                result.failures[name] = str(error)
                if isinstance(error, RolloutFailed):
                    result.rolled_back.append(error)
    for name in plan.retire_endpoints:
        ctx.events(name, "deleting the endpoint: no longer in the manifests")
        ctx.client.online_endpoints.begin_delete(name=name).result()
    return result


def _serverless(ctx: Context, plan: Plan) -> None:
    for change in plan.serverless:
        client = ctx.client.serverless_endpoints
        if change.change in (Change.delete, Change.replace):
            ctx.events(change.name, "deleting the serverless endpoint")
            client.begin_delete(change.name).result()
        if change.change in (Change.create, Change.replace):
            ctx.events(change.name, f"creating the serverless endpoint for {change.model_id}")
            document = ctx.repo.endpoints[change.name].serverless_document
            tags = ctx.lineage.tags(document.path if document else "")
            client.begin_create_or_update(ServerlessEndpoint(name=change.name, model_id=change.model_id, tags=tags)).result()
