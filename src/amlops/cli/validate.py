"""`amlops validate`: every problem in the repository's manifests, one per line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from amlops.cli.common import RepoOption
from amlops.manifests import validate_repository


def validate(
    env: str | None = typer.Option(None, "--env", help="check only this environment's references"),
    repo: Path = RepoOption,
) -> None:
    """Check every manifest against its schema and every cross-reference; exit 1 on any problem."""
    _, problems = validate_repository(repo, env)
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    for problem in problems:
        out.print(str(problem), markup=False, soft_wrap=True)
    if problems:
        err.print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", markup=False)
        raise typer.Exit(1)
    err.print("manifests are valid", markup=False)
