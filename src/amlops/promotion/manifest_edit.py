"""The target environment's manifest, rewritten to declare a promoted release: a function over YAML text.

Only the promoted endpoints' model references (and, when the deployments themselves differ, their
traffic) change; comments, key order, quoting and indentation stay as the file's authors left them
(ruamel.yaml round trip). The target keeps its own instance sizes, counts and strategy.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ruamel.yaml.comments import CommentedMap

from amlops.manifests import Repository
from amlops.manifests.environment import EndpointChoice, Environment
from amlops.manifests.repository import EnvironmentFile
from amlops.manifests.schema import validate
from amlops.manifests.yamlio import dump, parse_yaml, round_trip
from amlops.promotion.plan import Promotion, Refusal, narrow_to
from amlops.release.bundle import build_release


def rewrite_environment(text: str, source: Environment, promotion: Promotion) -> str:
    """`text` (the target's manifest) declaring `promotion`'s release for its endpoints."""
    yaml = round_trip(text)
    data = yaml.load(text)
    if dump(yaml, data) != text:
        raise Refusal(f"environments/{promotion.target}.yaml does not survive a YAML round trip unchanged: edit it by hand")
    endpoints = data.get("endpoints")
    if endpoints is None:
        endpoints = data["endpoints"] = CommentedMap()
    for name in promotion.endpoints:
        choice = source.endpoints[name]
        if not isinstance(choice, EndpointChoice):
            if "serverless" not in (endpoints.get(name) or {}):
                endpoints[name] = CommentedMap(serverless=True)
            continue
        models = {d: _reference(promotion, name, d) for d in choice.deployments}
        existing = endpoints.get(name)
        if not isinstance(existing, dict) or "deployments" not in existing:
            endpoints[name] = _new_endpoint(choice, models)
        else:
            _update_endpoint(existing, choice, models)
    return dump(yaml, data)


def _reference(promotion: Promotion, endpoint: str, deployment: str) -> str:
    pin = promotion.release.endpoints[endpoint].deployments[deployment].model
    return promotion.references()[(pin.name, pin.version)]


def _new_endpoint(choice: EndpointChoice, models: dict[str, str]) -> CommentedMap:
    """An endpoint new to the target: the source's deployments and traffic, without its sizes or strategy."""
    endpoint = CommentedMap(deployments=CommentedMap((d, CommentedMap(model=m)) for d, m in models.items()))
    for key in ("traffic", "mirror_traffic"):
        if getattr(choice, key):
            endpoint[key] = CommentedMap(getattr(choice, key))
    return endpoint


def _update_endpoint(existing: Any, choice: EndpointChoice, models: dict[str, str]) -> None:
    deployments = existing["deployments"]
    before = set(deployments)
    for name, model in models.items():
        if name in deployments:
            deployments[name]["model"] = model
        else:
            deployments[name] = CommentedMap(model=model)
    for name in before - set(models):
        del deployments[name]
    if before != set(models):  # the target's split names deployments that no longer exist: take the source's
        for key in ("traffic", "mirror_traffic"):
            if getattr(choice, key):
                existing[key] = CommentedMap(getattr(choice, key))
            elif key in existing:
                del existing[key]


def verify_rewrite(repo: Repository, promotion: Promotion, text: str) -> None:
    """The rewritten manifest must validate and declare exactly the promoted release (same id)."""
    from amlops.manifests.checks import check

    shown = repo.environments[promotion.target].document.path
    document, problems = parse_yaml(text, shown)
    environment, problems = validate(document, Environment) if document else (None, problems)
    if environment is None or document is None:
        raise Refusal(f"the rewritten {shown} does not validate: {'; '.join(map(str, problems))}")
    file = EnvironmentFile(document, environment)
    changed = replace(repo, environments={**repo.environments, promotion.target: file})
    problems = check(changed, [file])
    if problems:
        raise Refusal(f"the rewritten {shown} does not validate: {'; '.join(map(str, problems))}")
    narrowed = narrow_to(build_release(changed, promotion.target), promotion.endpoints)
    if narrowed.id != promotion.release.id:
        raise Refusal(f"the rewritten {shown} declares release {narrowed.id}, not {promotion.release.id}: refusing")
