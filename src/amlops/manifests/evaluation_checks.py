"""Cross-checks of `strategy.evaluation`: what an evaluation names exists before any rollout relies on it.

The schema checks its shape; these check that its component and held-out data asset are in the
repository (or pinned in a registry), that the component has the interface amlops calls it with
(inputs `candidate`, `live`, `data`; output `metrics`), and that it runs on a cluster the environment
declares (or serverless).
"""

from __future__ import annotations

from collections.abc import Iterator

from amlops.manifests.environment import EndpointChoice, Evaluation
from amlops.manifests.errors import Problem
from amlops.manifests.repository import AssetKind, EnvironmentFile, Repository
from amlops.manifests.training_checks import SERVERLESS, asset_problem, parse_versioned
from amlops.manifests.yamlio import FieldPath

#: What a comparison component must declare (amlops.rollout.evaluation calls it so).
INPUTS, OUTPUT = ("candidate", "live", "data"), "metrics"


def evaluation_references(repo: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    for env in environments:
        clusters = {c.name for c in env.environment.all_clusters}
        found: list[tuple[FieldPath, Evaluation]] = []
        if env.environment.strategy.evaluation is not None:
            found.append((("strategy", "evaluation"), env.environment.strategy.evaluation))
        for name, choice in env.environment.endpoints.items():
            if isinstance(choice, EndpointChoice) and choice.strategy and choice.strategy.evaluation:
                found.append((("endpoints", name, "strategy", "evaluation"), choice.strategy.evaluation))
        for field, evaluation in found:
            for key, kind in (("component", AssetKind.component), ("data", AssetKind.data)):
                ref = getattr(evaluation, key)
                problem = asset_problem(repo, kind, ref) if ref else None
                if problem:
                    yield env.document.problem((*field, key), problem)
            if evaluation.component and evaluation.data:
                yield from _interface(repo, env, (*field, "component"), evaluation.component)
                if evaluation.compute != SERVERLESS and evaluation.compute not in clusters:
                    names = ", ".join(sorted(clusters)) or "none"
                    message = (
                        f"{env.environment.name} declares no cluster {evaluation.compute!r} (it has: {names}; or use serverless)"
                    )
                    yield env.document.problem((*field, "compute"), message)


def _interface(repo: Repository, env: EnvironmentFile, field: FieldPath, ref: str) -> Iterator[Problem]:
    parsed = parse_versioned(ref)
    component = repo.asset(AssetKind.component, *parsed) if parsed else None
    if component is None or not isinstance(component.document.data, dict):
        return
    inputs = set(component.document.data.get("inputs") or {})
    outputs = set(component.document.data.get("outputs") or {})
    missing = [f"input {i}" for i in INPUTS if i not in inputs] + ([f"output {OUTPUT}"] if OUTPUT not in outputs else [])
    if missing:
        where = component.document.path
        yield env.document.problem(field, f"{ref} ({where}) lacks {', '.join(missing)}: an evaluation calls it with those")
