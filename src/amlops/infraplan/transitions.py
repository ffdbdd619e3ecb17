"""Network changes Azure refuses, found by comparing a base revision's manifest with this one.

Managed network isolation cannot be turned off once on, and `AllowOnlyApprovedOutbound` cannot go
back to `AllowInternetOutbound` (learn.microsoft.com/azure/machine-learning/how-to-managed-network,
"Limitations"). `pulumi up` would fail half-way; `amlops infra plan --base` refuses them first,
naming the file and line of the field to change back.
"""

from __future__ import annotations

from pathlib import Path

from amlops.manifests import Environment, ManifestError, Problem, load_environment
from amlops.manifests.environment import Isolation, NetworkMode
from amlops.manifests.errors import display_path
from amlops.manifests.yamlio import read_yaml

SOURCE = "https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#limitations"


class RefusedTransition(ValueError):
    """The change asks Azure for something it does not allow; nothing was planned."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _isolation(env: Environment | None) -> Isolation | None:
    """The managed network's isolation, or None when the environment has none."""
    network = env.infrastructure.network if env and env.infrastructure else None
    return network.isolation if network is not None and network.mode is NetworkMode.managed else None


def problems(base: Environment | None, head: Environment, head_file: Path, root: Path) -> list[Problem]:
    before, after = _isolation(base), _isolation(head)
    if before is None:
        return []
    document, _ = read_yaml(head_file, display_path(head_file, root))
    assert document is not None  # the head manifest loaded a moment ago
    if after is None:
        return [
            document.problem(
                ("infrastructure", "network", "mode"),
                f"the managed network cannot be turned off once on (base: mode managed); keep mode: managed ({SOURCE})",
            )
        ]
    if before is Isolation.allow_only_approved_outbound and after is Isolation.allow_internet_outbound:
        return [
            document.problem(
                ("infrastructure", "network", "isolation"),
                f"allow_only_approved_outbound cannot go back to allow_internet_outbound; add outbound rules instead ({SOURCE})",
            )
        ]
    return []


def check(base_root: Path, root: Path, stack: str) -> None:
    """Raise RefusedTransition if `stack`'s manifest at `root` makes a change Azure refuses from `base_root`'s."""
    head_file = next((root / "environments").glob(f"{stack}.y*ml"), None)
    base_file = next((base_root / "environments").glob(f"{stack}.y*ml"), None)
    if head_file is None or base_file is None:
        return
    try:
        base = load_environment(base_root, stack)
    except ManifestError:
        base = None  # a base that did not load constrains nothing
    found = problems(base, load_environment(root, stack), head_file, root)
    if found:
        raise RefusedTransition(found)
