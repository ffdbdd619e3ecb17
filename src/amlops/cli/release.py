"""`amlops release`: the release an environment's manifests declare, and which stacks a change touches."""

from __future__ import annotations

import json
import subprocess
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from amlops.cli.common import RepoOption
from amlops.manifests import Repository, load_repository, validate_repository
from amlops.manifests.environment import Platform
from amlops.release import build_release
from amlops.release.affected import affected_stacks, all_stacks
from amlops.release.render import release_document, release_table

app = typer.Typer(help="Releases: the immutable bundle an environment serves.", no_args_is_help=True)


class Format(str, Enum):
    table = "table"
    json = "json"


def validated(repo: Path, env: str) -> Repository:
    """The repository, or exit 1 with its problems: a release is only built from valid manifests."""
    repository, problems = validate_repository(repo, env)
    if problems:
        err = Console(stderr=True, highlight=False)
        for problem in problems:
            err.print(str(problem), markup=False, soft_wrap=True)
        err.print(f"the manifests have {len(problems)} problem(s): fix them first (amlops validate)", markup=False)
        raise typer.Exit(1)
    return repository


@app.command()
def show(
    env: str = typer.Option(..., "--env", help="the environment whose release to show"),
    format: Format = typer.Option(Format.table, "--format", help="table for people, json for programs"),
    repo: Path = RepoOption,
) -> None:
    """Print the release the manifests declare for an environment: its id, alias and pinned contents."""
    release = build_release(validated(repo, env), env)
    out = Console(highlight=False)
    if format is Format.json:
        out.print_json(json.dumps(release_document(release)))
    else:
        out.print(release_table(release))


@app.command()
def affected(
    base: str | None = typer.Option(None, "--base", help="git commit to compare HEAD with; none: every stack"),
    repo: Path = RepoOption,
) -> None:
    """Print, as a JSON list, the Pulumi stacks a change touches (for the workflows' matrices)."""
    repository, _ = load_repository(repo)
    serves = {
        name: set(file.environment.endpoints)
        for name, file in repository.environments.items()
        if file.environment.platform is Platform.azure
    }
    changed = _changed_paths(repo, base) if base else None
    stacks = all_stacks(serves) if changed is None else affected_stacks(changed, serves)
    typer.echo(json.dumps(stacks))


def _changed_paths(repo: Path, base: str) -> list[str] | None:
    """Paths changed between `base` and HEAD, or None when `base` is no commit here (a new branch)."""
    result = subprocess.run(
        ["git", "diff", "--name-only", "--no-renames", base, "HEAD"], cwd=repo, capture_output=True, text=True
    )
    return result.stdout.splitlines() if result.returncode == 0 else None
