"""`amlops promote`: move the release live in one environment to the next, as a branch for review."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from amlops.cli.common import RepoOption
from amlops.release import gitrepo
from amlops.release.promote import Outcome
from amlops.release.promote import promote as run_promotion
from amlops.release.promotion import Promotion, Refusal
from amlops.release.render import promotion_description, promotion_title


class Format(str, Enum):
    text = "text"
    json = "json"


def promote(
    source: str = typer.Option(..., "--from", help="the environment the release is live and healthy in"),
    target: str = typer.Option(..., "--to", help="the next environment on the promotion path"),
    endpoint: str | None = typer.Option(None, "--endpoint", help="promote only this endpoint's part of the release"),
    format: Format = typer.Option(
        Format.text, "--format", help="text for people; json (branch, title, description) for workflows"
    ),
    repo: Path = RepoOption,
) -> None:
    """Promote a release: check it is live, healthy and soaked, share its models into the registry,
    and commit the target's manifest and the promotion record on branch promote/<to>/<alias>."""
    try:
        outcome = run_promotion(
            repo,
            source,
            target,
            endpoint,
            live=_live(repo),
            registry=_registry(repo),
            who=os.environ.get("GITHUB_ACTOR") or gitrepo.author(repo),
            now=datetime.now(UTC),
        )
    except Refusal as refusal:
        Console(stderr=True, highlight=False).print(f"promotion refused: {refusal}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    _print(outcome, format)


def _live(repo: Path):  # -> LiveSource
    from amlops.release.live import workspace_evidence

    return lambda environment, release: workspace_evidence(repo, environment, release)


def _registry(repo: Path):  # -> Callable[[Promotion], ModelRegistry]
    def open_registry(promotion: Promotion):
        from amlops.manifests import load_environment
        from amlops.release.registry import sdk_registry
        from amlops.workspace import open_workspace

        workspace = open_workspace(load_environment(repo, promotion.source))
        return sdk_registry(workspace.client, promotion.registry)

    return open_registry


def _print(outcome: Outcome, format: Format) -> None:
    p = outcome.promotion
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
