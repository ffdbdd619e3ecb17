"""Promotion: what moving a release from one environment to the next means, decided without side effects.

A promotion takes the release that is live, healthy and soaked in the source environment and makes
the target's manifest declare the same release: the same model bytes (shared through the Azure ML
registry, never rebuilt), the same deployment specs, so the same release id. Every reason to refuse
is found here, before anything is written anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from amlops.manifests import Repository
from amlops.manifests.references import registry_model_uri
from amlops.release.bundle import Release, build_release
from amlops.workspace.open import registry_name


class Refusal(Exception):
    """A promotion that must not happen, with the reason a person can act on. Nothing was changed."""


@dataclass(frozen=True)
class LiveEvidence:
    """What the source workspace says about one endpoint: which release is live, whether healthy, since when."""

    endpoint: str
    endpoint_release: str | None  # the id of the endpoint release live there (`Release.endpoint(name).id`)
    healthy: bool
    since: datetime | None  # when that release went live (timezone-aware)
    detail: str = ""  # what health was judged on, for the record


@dataclass(frozen=True)
class ModelShare:
    """A model version to make available in the registry: the workspace's copy, the same bytes."""

    name: str
    version: str
    content_hash: str | None
    registry: str

    @property
    def reference(self) -> str:
        return registry_model_uri(self.registry, self.name, self.version)


@dataclass(frozen=True)
class Verified:
    """The evidence a promotion was allowed on, and the soak it was held to."""

    evidence: LiveEvidence
    soaked_minutes: int
    required_minutes: int


@dataclass(frozen=True)
class Promotion:
    source: str
    target: str
    release: Release  # the source's release, narrowed to the promoted endpoints
    verified: tuple[Verified, ...]
    models: tuple[ModelShare, ...]  # every model the promoted endpoints serve, by their registry reference
    registry: str

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(sorted({*self.release.endpoints, *self.release.serverless}))

    @property
    def branch(self) -> str:
        return f"promote/{self.target}/{self.release.alias}"

    def references(self) -> dict[tuple[str, str], str]:
        """(model name, version) -> the reference the target's manifest gets."""
        return {(m.name, m.version): m.reference for m in self.models}


def plan_promotion(
    repo: Repository,
    path: list[str],
    source: str,
    target: str,
    endpoint: str | None,
    live: Callable[[Release], Mapping[str, LiveEvidence]],
    now: datetime,
) -> Promotion:
    """Decide the promotion, or raise :class:`Refusal`.

    `path` is the order releases move through environments (`releases/promotion.yaml`); `live`
    reads the source workspace's evidence per endpoint, given the source's release, and is called
    only once the manifests alone allow the promotion. The repository must have validated.
    """
    for name in (source, target):
        if name not in repo.environments:
            raise Refusal(f"no environment {name!r} (known: {', '.join(sorted(repo.environments))})")
    if source not in path or target not in path or path.index(target) != path.index(source) + 1:
        raise Refusal(f"{source} -> {target} is not a step of the promotion path {' -> '.join(path)}")
    kinds = (repo.environments[source].environment.platform, repo.environments[target].environment.platform)
    if kinds[0] is not kinds[1]:
        raise Refusal(
            f"{source} runs on {kinds[0].value} and {target} on {kinds[1].value}: "
            "a release moves only between environments of one kind, through the registry they share"
        )
    registry = registry_name(repo.environments[target].environment)
    full = build_release(repo, source)
    release = _narrow(full, endpoint, source)
    if not release.endpoints and not release.serverless:
        raise Refusal(f"{source} serves no endpoints: nothing to promote")
    models = _models(release, registry)
    if narrow_to(build_release(repo, target), _names(release)).id == release.id:
        raise Refusal(f"{target} already declares release {release.alias} for {', '.join(_names(release))}: nothing to promote")
    evidence = live(full)
    verified = tuple(_verify(repo, release, source, name, evidence.get(name), now) for name in _names(release))
    return Promotion(source, target, release, verified, models, registry)


def _names(release: Release) -> list[str]:
    return sorted({*release.endpoints, *release.serverless})


def _narrow(release: Release, endpoint: str | None, source: str) -> Release:
    if endpoint is None:
        return release
    if endpoint not in release.endpoints and endpoint not in release.serverless:
        raise Refusal(f"{source} serves no endpoint {endpoint!r} (it serves: {', '.join(_names(release))})")
    return release.endpoint(endpoint)


def narrow_to(release: Release, endpoints: Iterable[str]) -> Release:
    """The part of `release` that serves `endpoints` (Release.endpoint, for several)."""
    keep = set(endpoints)
    return Release(
        release.environment,
        {k: v for k, v in release.endpoints.items() if k in keep},
        {k: v for k, v in release.serverless.items() if k in keep},
    )


def _verify(repo: Repository, release: Release, source: str, name: str, evidence: LiveEvidence | None, now: datetime) -> Verified:
    """The endpoint's part of the release must be the one live in the source, healthy, for its soak time."""
    declared = release.endpoint(name)
    if evidence is None or evidence.endpoint_release is None:
        raise Refusal(f"{name} has no release live in {source}: apply {source} first")
    if evidence.endpoint_release != declared.id:
        raise Refusal(
            f"{name}: {source} serves release {evidence.endpoint_release}, but its manifest declares {declared.id}: "
            f"promote only what is live (apply {source} first, or wait for its rollout to finish)"
        )
    if not evidence.healthy:
        raise Refusal(f"{name} is not healthy in {source}: {evidence.detail or 'see amlops status'}")
    required = repo.environments[source].environment.strategy_for(name).soak_minutes
    soaked = int((now - evidence.since).total_seconds() // 60) if evidence.since else 0
    if soaked < required:
        ready = (evidence.since or now) + timedelta(minutes=required)
        raise Refusal(
            f"{name} has been live in {source} for {soaked} of the {required} minutes its manifest requires "
            f"before promotion; it may be promoted from {ready.isoformat(timespec='minutes')}"
        )
    return Verified(evidence, soaked, required)


def _models(release: Release, registry: str) -> tuple[ModelShare, ...]:
    shares: dict[tuple[str, str], ModelShare] = {}
    for endpoint in release.endpoints.values():
        for deployment in endpoint.deployments.values():
            pin = deployment.model
            if pin.registry not in (None, registry):
                raise Refusal(
                    f"{endpoint.name}/{deployment.name} serves {pin.reference}, from registry {pin.registry}; "
                    f"the target promotes through {registry}"
                )
            shares[(pin.name, pin.version)] = ModelShare(pin.name, pin.version, pin.content_hash, registry)
    return tuple(shares[key] for key in sorted(shares))
