"""Autoscale: each deployment's `autoscale` block as an Azure Monitor autoscale setting, written after its
endpoint's rollout completes.

The setting targets the deployment by its Azure name, so a blue/green rollout ends with the new
deployment's setting created and the retired deployment's deleted; a rollout that rolls back leaves the
settings as they were. Settings amlops made carry `amlops.environment` (and `amlops.deployment`): a
deployment whose block is removed loses the setting, and settings made by hand are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from amlops.manifests.autoscale import Autoscale, ScaleRule, setting_name
from amlops.manifests.environment import EndpointChoice
from amlops.manifests.repository import Repository
from amlops.release.bundle import Release
from amlops.rollout.events import Event, Events, Phase
from amlops.rollout.plan import Change
from amlops.state import record
from amlops.state.record import Lineage
from amlops.workspace.interface import AutoscaleSpec, ScaleProfileSpec, ScaleRuleSpec, Workspace

Key = tuple[str, str]  # (endpoint, deployment as the manifests name it)


@dataclass(frozen=True)
class AutoscaleChange:
    """One deployment's autoscale setting to create, update (in place, or onto a new deployment) or delete."""

    change: Change  # create, replace (update), delete
    endpoint: str
    deployment: str  # as the manifests name it
    old: AutoscaleSpec | None
    new: AutoscaleSpec | None

    @property
    def detail(self) -> str:
        """What changes, old -> new, one setting per clause."""
        if self.new is None:
            assert self.old is not None
            return f"delete {self.old.name}: {describe(self.old)}"
        if self.old is None:
            return describe(self.new)
        before, after = _facts(self.old), _facts(self.new)
        return "; ".join(
            f"{k}: {before.get(k, '-')} -> {after.get(k, '-')}" for k in after | before if before.get(k) != after.get(k)
        )


#: How a plan names each change: an autoscale setting is updated in place, or moved onto the new deployment.
VERBS = {Change.create: "create", Change.replace: "update", Change.delete: "delete"}


def rows(changes: tuple[AutoscaleChange, ...]) -> list[tuple[str, str, str]]:
    """The plan's (subject, change, detail) rows."""
    return [(f"autoscale {c.endpoint}/{c.deployment}", VERBS[c.change], c.detail) for c in changes]


def as_json(changes: tuple[AutoscaleChange, ...]) -> list[dict[str, object]]:
    return [
        {
            "change": VERBS[c.change],
            "endpoint": c.endpoint,
            "deployment": c.deployment,
            "old": describe(c.old) if c.old else None,
            "new": describe(c.new) if c.new else None,
        }
        for c in changes
    ]


def describe(spec: AutoscaleSpec) -> str:
    return "; ".join(f"{k}: {v}" for k, v in _facts(spec).items())


def _facts(spec: AutoscaleSpec) -> dict[str, str]:
    facts = {"deployment": spec.deployment}
    for p in spec.profiles:
        when = f" ({'/'.join(d[:3] for d in p.days)} {p.hour:02d}:{p.minute:02d} {p.time_zone})" if p.days else ""
        facts[f"profile {p.name}"] = f"{p.minimum}-{p.maximum} instances, default {p.default}{when}"
        for i, r in enumerate(p.rules):
            way = "out" if r.direction == "Increase" else "in"
            facts[f"profile {p.name} rule {i + 1}"] = (
                f"{r.metric} {r.operator} {r.threshold:g} ({r.time_aggregation} of {r.window_minutes} min) -> {way} {r.change}, "
                f"cooldown {r.cooldown_minutes} min"
            )
    return facts


def desired(repo: Repository, release: Release, lineage: Lineage) -> dict[Key, AutoscaleSpec]:
    """The autoscale settings the environment file declares, for the deployments of `release`."""
    env = repo.environments[release.environment].environment
    found: dict[Key, AutoscaleSpec] = {}
    for endpoint, served in release.endpoints.items():
        choice = env.endpoints.get(endpoint)
        if not isinstance(choice, EndpointChoice):
            continue
        for name, deployment in served.deployments.items():
            block = choice.deployments[name].autoscale
            if block is None:
                continue
            tags = {**lineage.tags(repo.environments[release.environment].document.path), record.DEPLOYMENT: name}
            azure = deployment.azure_name
            found[(endpoint, name)] = AutoscaleSpec(setting_name(endpoint, azure), endpoint, azure, profiles(block), tags)
    return found


def profiles(block: Autoscale) -> tuple[ScaleProfileSpec, ...]:
    """The default profile, then per schedule a weekly profile at its start and the default one again at its end
    (a recurrence profile lasts until the next one begins: Azure Monitor's "autoscale-understanding-settings")."""
    rules = tuple(_rule(r) for r in block.rules)
    base = ScaleProfileSpec("default", block.min_instances, block.max_instances, block.default_count, rules)
    out = [base]
    for s in block.schedules:
        days = tuple(d.value for d in s.days)
        out.append(ScaleProfileSpec(s.name, s.min, s.max, s.default_count, rules, days, s.time_zone, *s.at(s.start)))
        out.append(
            ScaleProfileSpec(f"{s.name} end", base.minimum, base.maximum, base.default, rules, days, s.time_zone, *s.at(s.end))
        )
    return tuple(out)


def _rule(rule: ScaleRule) -> ScaleRuleSpec:
    return ScaleRuleSpec(
        metric=rule.metric.azure_name,
        scope=rule.metric.scope,
        operator=rule.operator.value,
        threshold=float(rule.threshold),
        statistic=rule.statistic,
        time_aggregation=rule.time_aggregation,
        time_grain_minutes=rule.time_grain_minutes,
        window_minutes=rule.window_minutes,
        direction="Increase" if rule.direction == "out" else "Decrease",
        change=rule.change,
        cooldown_minutes=rule.cooldown_minutes,
    )


def managed(live: list[AutoscaleSpec], environment: str, endpoints: set[str]) -> dict[Key, AutoscaleSpec]:
    """The live settings amlops made for this environment's endpoints, by the deployment they were made for."""
    return {
        (s.endpoint, s.tags[record.DEPLOYMENT]): s
        for s in live
        if s.tags.get(record.ENVIRONMENT) == environment and record.DEPLOYMENT in s.tags and s.endpoint in endpoints
    }


def plan_autoscale(wanted: dict[Key, AutoscaleSpec], live: dict[Key, AutoscaleSpec]) -> tuple[AutoscaleChange, ...]:
    changes = []
    for key in sorted(wanted.keys() | live.keys()):
        new, old = wanted.get(key), live.get(key)
        if new is not None and old is not None and new.same_setting(old):
            continue
        kind = Change.create if old is None else Change.delete if new is None else Change.replace
        changes.append(AutoscaleChange(kind, key[0], key[1], old, new))
    return tuple(changes)


def autoscale_changes(
    workspace: Workspace, repo: Repository, release: Release, lineage: Lineage, retiring: tuple[str, ...] = ()
) -> tuple[AutoscaleChange, ...]:
    """What the workspace's autoscale settings lack of the manifests', from a fresh read (endpoints retiring lose theirs)."""
    live = managed(workspace.autoscale_settings(), release.environment, set(release.endpoints) | set(retiring))
    return plan_autoscale(desired(repo, release, lineage), live)


def apply_autoscale(workspace: Workspace, changes: tuple[AutoscaleChange, ...], events: Events) -> None:
    """Write each change; a setting that moves to a new deployment is written before the old one's is deleted."""
    for c in changes:
        if c.new is not None:
            verb = "creating" if c.old is None else "updating"
            events(Event(c.endpoint, Phase.autoscale, f"{verb} autoscale {c.new.name}: {c.detail}"))
            workspace.put_autoscale(c.new)
        if c.old is not None and (c.new is None or c.old.name != c.new.name):
            events(Event(c.endpoint, Phase.autoscale, f"deleting autoscale {c.old.name} of deployment {c.old.deployment}"))
            workspace.delete_autoscale(c.old.name)
