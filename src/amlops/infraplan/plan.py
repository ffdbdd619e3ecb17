"""`amlops infra plan`: evaluate, check, price, and optionally compare with another git revision."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from amlops import git
from amlops.infraplan import cost, diff, transitions
from amlops.infraplan.inventory import PROGRAM_DIR, Inventory, evaluate
from amlops.infraplan.policy import PolicyResult, check
from amlops.infraplan.prices import SHEET, PriceSheet

#: What a revision's evaluation needs: the program and stack files, the manifests, the endpoint files.
TREE = (PROGRAM_DIR, "environments", "endpoints", "models", "Pulumi.yaml")


@dataclass(frozen=True)
class Comparison:
    ref: str
    inventory: Inventory | None  # None: the program or the stack did not exist at that revision
    estimate: cost.Estimate | None
    resources: list[diff.ResourceChange]
    cost: diff.CostChange


@dataclass(frozen=True)
class Plan:
    stack: str
    inventory: Inventory
    policies: list[PolicyResult]
    estimate: cost.Estimate
    base: Comparison | None = None

    @property
    def blocking(self) -> list[PolicyResult]:
        return [p for p in self.policies if not p.passed and p.enforcement == "mandatory"]


def make_plan(root: Path, stack: str, base_ref: str | None = None) -> Plan:
    """Raises RefusedTransition before evaluating anything when the change is one Azure refuses."""
    sheet = PriceSheet.load(root / SHEET)
    if not base_ref:
        inventory = evaluate(root, stack)
        return Plan(stack, inventory, check(inventory, root), cost.estimate(inventory, root, sheet))
    with checkout(root, base_ref) as tree:
        transitions.check(tree, root, stack)
        inventory = evaluate(root, stack)
        base_inventory = evaluate(tree, stack) if _has_stack(tree, stack) else None
        base_estimate = cost.estimate(base_inventory, tree, sheet) if base_inventory else None
    estimate = cost.estimate(inventory, root, sheet)
    comparison = Comparison(
        base_ref, base_inventory, base_estimate, diff.resources(base_inventory, inventory), diff.cost(base_estimate, estimate)
    )
    return Plan(stack, inventory, check(inventory, root), estimate, comparison)


def _has_stack(tree: Path, stack: str) -> bool:
    program = (tree / PROGRAM_DIR / "__main__.py").is_file()
    return program and (any((tree / "environments").glob(f"{stack}.y*ml")) or (tree / f"Pulumi.{stack}.yaml").is_file())


@contextmanager
def checkout(root: Path, ref: str) -> Iterator[Path]:
    """The files of revision `ref` that an evaluation reads, in a temporary directory.

    `git archive` rather than a worktree: nothing is registered in the repository, and nothing is
    left behind. Prices come from the current sheet so that a diff shows changes, not repricing.
    """
    try:
        listed = git.git(root, "ls-tree", "--name-only", ref).split()
        paths = [p for p in TREE if p in listed] + [
            p for p in listed if p.startswith("Pulumi.") and p.endswith(".yaml") and p != "Pulumi.yaml"
        ]
        with tempfile.TemporaryDirectory(prefix="amlops-base-") as tmp:
            yield git.extract(root, ref, Path(tmp), tuple(paths)) if paths else Path(tmp)
    except git.GitError as exc:
        raise ValueError(str(exc)) from exc
