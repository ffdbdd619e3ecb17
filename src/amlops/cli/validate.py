"""`amlops validate`: every problem in the repository's manifests, one per line (or as JSON, or as GitHub annotations)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from amlops.cli import github
from amlops.cli.common import RepoOption
from amlops.cli.output import Format, err, fail, format_option, out, require


def validate(
    env: str | None = typer.Option(None, "--env", help="check only this environment's references"),
    format: Format = format_option(Format.text, Format.json),
    repo: Path = RepoOption,
) -> None:
    """Check every manifest against its schema and every cross-reference; exit 1 on any problem.

    In GitHub Actions each problem is also an `::error` annotation on its file and line.
    """
    from amlops.manifests import validate_repository  # imported here: other commands' --help need not load it
    from amlops.manifests.flows import local_flow_warnings

    require(format, Format.text, Format.json)
    loaded, problems = validate_repository(repo, env)
    if format is Format.json:
        typer.echo(json.dumps({"valid": not problems, "problems": [p.__dict__ for p in problems]}, indent=2))
    else:
        for problem in problems:
            out.print(str(problem), markup=False)
    if github.in_actions():
        for problem in problems:
            typer.echo(github.annotation(problem))
    if problems:
        fail(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found")
    scope = [loaded.environments[env]] if env else list(loaded.environments.values())
    for warning in local_flow_warnings(loaded, scope) if format is Format.text else []:
        err.print(f"{warning} (warning)", markup=False)
    if format is Format.text:
        err.print("manifests are valid", markup=False)
