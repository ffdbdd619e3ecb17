"""What a run's model is: a version seen before (same content hash), or the next version of its model. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Identical:
    """The content is an existing version's: no new version and no branch (unless its branch is still to make)."""

    version: str
    in_repository: bool  # False: registered by an earlier candidate whose model file is not merged yet


@dataclass(frozen=True)
class NewVersion:
    version: str


def decide(
    content_hash: str, repository: Mapping[str, str | None], workspace: Mapping[str, str | None]
) -> Identical | NewVersion:
    """`repository` and `workspace` map each known version of the model to its content hash (None: unknown,
    e.g. a version registered outside amlops). One version per distinct content: the lowest version with
    this content wins; otherwise the next number after every version either side knows."""
    for version in sorted({**workspace, **repository}, key=_order):
        if content_hash in (repository.get(version), workspace.get(version)):
            return Identical(version, version in repository)
    numbers = [int(v) for v in {*repository, *workspace} if v.isdigit()]
    return NewVersion(str(max(numbers, default=0) + 1))


def _order(version: str) -> tuple[int, int, str]:
    return (0, int(version), "") if version.isdigit() else (1, 0, version)
