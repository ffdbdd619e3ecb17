"""`amlops release`: the release an environment's manifests declare, and which stacks a change touches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from amlops.cli.common import RepoOption
from amlops.cli.output import Format, fail, format_option, require

# Capabilities are imported inside the commands: `amlops --help` starts without pydantic or the SDK.
if TYPE_CHECKING:
    from amlops.manifests import Repository

app = typer.Typer(help="Releases: the immutable bundle an environment serves.", no_args_is_help=True)


def validated(repo: Path, env: str) -> Repository:
    """The repository, or exit 1 with its problems: a release is only built from valid manifests."""
    from amlops.manifests import validate_repository

    repository, problems = validate_repository(repo, env)
    if problems:
        fail(f"the manifests have {len(problems)} problem(s): fix them first (amlops validate)", *problems)
    return repository


@app.command()
def show(
    env: str = typer.Option(..., "--env", help="the environment whose release to show"),
    format: Format = format_option(Format.text, Format.json),
    repo: Path = RepoOption,
) -> None:
    """Print the release the manifests declare for an environment: its id, alias and pinned contents."""
    from amlops.release import build_release
    from amlops.release.render import release_document, release_table

    require(format, Format.text, Format.json)
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
    from amlops.git import changed_paths
    from amlops.infraplan.affected import affected_stacks, all_stacks
    from amlops.manifests import load_repository
    from amlops.manifests.environment import Platform

    repository, _ = load_repository(repo)
    serves = {
        name: set(file.environment.endpoints)
        for name, file in repository.environments.items()
        if file.environment.platform is Platform.azure
    }
    changed = changed_paths(repo, base) if base else None
    stacks = all_stacks(serves) if changed is None else affected_stacks(changed, serves)
    typer.echo(json.dumps(stacks))
