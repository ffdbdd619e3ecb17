"""`amlops validate`: every problem in the repository's manifests, one per line."""

from __future__ import annotations

from pathlib import Path

import typer

from amlops.cli.common import RepoOption
from amlops.cli.output import err, fail, out


def validate(
    env: str | None = typer.Option(None, "--env", help="check only this environment's references"),
    repo: Path = RepoOption,
) -> None:
    """Check every manifest against its schema and every cross-reference; exit 1 on any problem."""
    from amlops.manifests import validate_repository  # here: `amlops --help` starts without pydantic

    _, problems = validate_repository(repo, env)
    for problem in problems:
        out.print(str(problem), markup=False)
    if problems:
        fail(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found")
    err.print("manifests are valid", markup=False)
