"""`amlops promote`: move the release live in one environment to the next, as a branch for review."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from amlops import git as gitrepo
from amlops.cli.common import RepoOption
from amlops.cli.output import Format, fail, format_option, require

# Capabilities are imported inside the commands: `amlops --help` starts without pydantic or the SDK.
if TYPE_CHECKING:
    from amlops.promotion.plan import Promotion
    from amlops.promotion.promote import LiveSource, Outcome
    from amlops.promotion.registry import ModelRegistry
    from amlops.workspace.interface import Workspace


def promote(
    source: str = typer.Option(..., "--from", help="the environment the release is live and healthy in"),
    target: str = typer.Option(..., "--to", help="the next environment on the promotion path"),
    endpoint: str | None = typer.Option(None, "--endpoint", help="promote only this endpoint's part of the release"),
    format: Format = format_option(Format.text, Format.json, Format.markdown),
    repo: Path = RepoOption,
) -> None:
    """Promote a release: check it is live, healthy and soaked, share its models into the registry,
    and commit the target's manifest and the promotion record on branch promote/<to>/<alias>."""
    from amlops.promotion.plan import Refusal
    from amlops.promotion.promote import promote as run_promotion

    require(format, Format.text, Format.json, Format.markdown)
    live, registry = _workspaces(repo)
    try:
        outcome = run_promotion(
            repo,
            source,
            target,
            endpoint,
            live=live,
            registry=registry,
            who=os.environ.get("GITHUB_ACTOR") or gitrepo.author(repo),
            now=datetime.now(UTC),
        )
    except Refusal as refusal:
        fail(f"promotion refused: {refusal}")
    _print(outcome, format)


def _workspaces(repo: Path) -> tuple[LiveSource, Callable[[Promotion], ModelRegistry]]:
    """Promotion's reach into the workspaces: the source's evidence, and the registry fed from the source."""
    from amlops.manifests import load_environment
    from amlops.promotion.evidence import workspace_evidence
    from amlops.promotion.registry import WorkspaceRegistry
    from amlops.workspace import open_workspace

    opened: dict[str, Workspace] = {}

    def workspace(environment: str) -> Workspace:
        if environment not in opened:
            opened[environment] = open_workspace(load_environment(repo, environment))
        return opened[environment]

    def registry(promotion: Promotion) -> ModelRegistry:
        source = workspace(promotion.source)
        return WorkspaceRegistry(source, source.registry(promotion.registry))

    return (lambda environment, release: workspace_evidence(workspace(environment), release)), registry


def _print(outcome: Outcome, format: Format) -> None:
    from amlops.promotion.render import promotion_description, promotion_title

    p = outcome.promotion
    if format is Format.markdown:
        typer.echo(promotion_description(outcome))
        return
    if format is Format.json:
        typer.echo(
            json.dumps(
                {
                    "branch": p.branch,
                    "commit": outcome.commit,
                    "release": p.release.id,
                    "alias": p.release.alias,
                    "title": promotion_title(p),
                    "description": promotion_description(outcome),
                }
            )
        )
        return
    out = Console(highlight=False, soft_wrap=True)  # branch names and references stay whole, to copy and paste
    out.print(f"{promotion_title(p)}: release {p.release.id}", markup=False)
    for model in p.models:
        how = "shared into the registry" if model in outcome.shared else "already in the registry"
        out.print(f"  {model.reference} ({how})", markup=False)
    out.print(f"committed {outcome.commit[:12]} on branch {p.branch} ({', '.join(outcome.files)})", markup=False)
    out.print(f"next: git push origin {p.branch}, and open a pull request", markup=False)
