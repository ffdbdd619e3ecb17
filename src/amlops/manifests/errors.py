"""Problems found in manifests, each pinned to a file, line, column and field.

Every loader and check reports through :class:`Problem` so that `amlops validate` can print all of
them at once, in the `path:line:column: field: message` form editors and CI annotations understand.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one field of one file. Lines and columns count from 1."""

    path: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        field = self.field or "(file)"
        return f"{self.path}:{self.line}:{self.column}: {field}: {self.message}"


class ManifestError(Exception):
    """Raised when manifests cannot be used; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def display_path(path: Path, root: Path) -> str:
    """The path as a user would type it from the repository root."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def did_you_mean(name: str, known: Iterable[str], shown: Mapping[str, str] | None = None) -> str:
    """` (did you mean x, y?)` naming the closest of `known`, or "" when none is close.

    `shown` maps what is compared (e.g. lower-cased names) to what is printed."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join((shown or {}).get(c, c) for c in close)}?)" if close else ""
