"""`amlops validate`: every problem in the repository's manifests, one per line (or as JSON, or as GitHub annotations)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from amlops.cli import github
from amlops.cli.common import RepoOption
from amlops.cli.output import Format, err, fail, format_option, out, require

if TYPE_CHECKING:
    from amlops.manifests.cache import Verdict


def validate(
    env: str | None = typer.Option(None, "--env", help="check only this environment's references"),
    format: Format = format_option(Format.text, Format.json),
    no_cache: bool = typer.Option(False, "--no-cache", help="validate again even if nothing changed since the last run"),
    repo: Path = RepoOption,
) -> None:
    """Check every manifest against its schema and every cross-reference; exit 1 on any problem.

    In GitHub Actions each problem is also an `::error` annotation on its file and line. An unchanged
    repository is answered from the last run's verdict (`~/.cache/amlops/validate`, or
    `$AMLOPS_VALIDATE_CACHE`), without loading azure-ai-ml.
    """
    from amlops.manifests.cache import cached

    require(format, Format.text, Format.json)
    verdict = _verdict(repo, env) if no_cache else cached(repo, env, lambda: _verdict(repo, env))
    problems = verdict.problems
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
    for warning in verdict.warnings if format is Format.text else []:
        err.print(f"{warning} (warning)", markup=False)
    if format is Format.text:
        err.print("manifests are valid", markup=False)


def _verdict(repo: Path, env: str | None) -> Verdict:
    from amlops.manifests import validate_repository  # imported here: azure-ai-ml, over a second
    from amlops.manifests.cache import Verdict
    from amlops.manifests.flows import local_flow_warnings

    loaded, problems = validate_repository(repo, env)
    if problems:
        return Verdict(problems, [])
    scope = [loaded.environments[env]] if env else list(loaded.environments.values())
    return Verdict(problems, local_flow_warnings(loaded, scope))
