"""`amlops comment`: the pull request comment for one environment, from the outputs of the plan steps.

One function composes it, for the PR workflow and for the README's example (tests/readme), so the
example is what the tool prints. The first line is the marker the workflow finds its comment by.
"""

from __future__ import annotations

from pathlib import Path

import typer

#: GitHub refuses comments over 65536 characters; Pulumi's preview is cut to keep the rest whole.
PREVIEW_LIMIT = 50_000


def compose(env: str, commit: str, outcomes: str, infra: str = "", rollout: str = "", preview: str = "") -> str:
    lines = [
        f"<!-- amlops-plan:{env} -->",
        f"## `{env}`: what this pull request changes",
        "",
        f"_{outcomes} (commit {commit[:7]})_",
    ]
    if infra.strip():
        lines += ["", "### Infrastructure and cost", infra.strip()]
    if rollout.strip():
        lines += ["", "### Endpoints and deployments", rollout.strip()]
    lines += ["", "<details><summary>pulumi preview</summary>", "", "```", preview[:PREVIEW_LIMIT].rstrip(), "```", "</details>"]
    return "\n".join(lines) + "\n"


def _text(path: Path | None) -> str:
    return path.read_text(encoding="utf-8") if path and path.is_file() else ""


def comment(
    env: str = typer.Option(..., "--env", help="the environment (stack) the comment is for"),
    commit: str = typer.Option(..., "--commit", help="the commit planned"),
    outcomes: str = typer.Option(..., "--outcomes", help="how each plan step ended, one line"),
    infra: Path | None = typer.Option(None, "--infra", help="`amlops infra plan --format markdown` output"),
    rollout: Path | None = typer.Option(None, "--plan", help="`amlops plan --format markdown` output"),
    preview: Path | None = typer.Option(None, "--preview", help="`pulumi preview` output"),
) -> None:
    """Print the pull request comment for ENV (markdown), from the plan steps' outputs."""
    typer.echo(compose(env, commit, outcomes, _text(infra), _text(rollout), _text(preview)), nl=False)
