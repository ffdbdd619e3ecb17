"""Apply the repository's policy pack (`infra/policy/policies.py`) to an evaluated program, offline.

The same `validate` functions the Pulumi CLI runs with `--policy-pack infra/policy`, called with
the inputs the mocks recorded, so a policy and its offline check cannot drift apart.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from amlops.infraplan.inventory import Inventory, Resource

POLICIES_FILE = Path("infra") / "policy" / "policies.py"


@dataclass(frozen=True)
class Violation:
    type: str
    name: str
    message: str


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    description: str
    enforcement: str
    violations: list[Violation] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations


def load_policies(root: Path) -> ModuleType:
    """Import `<root>/infra/policy/policies.py` under a name of its own (two revisions may differ)."""
    path = root / POLICIES_FILE
    name = f"_amlops_policies_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no policies at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(resource.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _stack(inventory: Inventory) -> list[PolicyResource]:
    """The stack's resources as a stack policy sees them, each linked to its parent (components too)."""
    made: dict[str, PolicyResource] = {}

    def make(r: Resource) -> PolicyResource:
        if r.urn not in made:
            parent = by_urn.get(r.parent)
            made[r.urn] = PolicyResource(
                r.type, r.inputs, r.urn, r.name, _options(r), None, make(parent) if parent else None, [], {}
            )
        return made[r.urn]

    by_urn = {r.urn: r for r in inventory.resources}
    return [make(r) for r in inventory.azure_resources]


def check(inventory: Inventory, root: Path) -> list[PolicyResult]:
    """Every policy of the pack against every resource the program declared."""
    resources = inventory.azure_resources
    by_urn = {r.urn: r for r in resources}
    results = []
    for policy in load_policies(root).POLICIES:
        violations: list[Violation] = []

        def report(
            message: str, urn: str | None = None, resource: Resource | None = None, violations: list[Violation] = violations
        ) -> None:
            target = by_urn.get(urn or "") or resource
            violations.append(Violation(target.type if target else "", target.name if target else "", message))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                policy.validate(
                    ResourceValidationArgs(r.type, r.inputs, r.urn, r.name, _options(r), None), partial(report, resource=r)
                )
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs(_stack(inventory)), report)
        level = policy.enforcement_level.value if policy.enforcement_level else "advisory"
        results.append(PolicyResult(policy.name, policy.description, level, violations))
    return results
