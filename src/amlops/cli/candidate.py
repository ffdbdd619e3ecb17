"""`amlops candidate`, and what `amlops run --wait` does once its run completes: call `amlops.retraining`, render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from amlops.cli.common import RepoOption, azure_errors
from amlops.cli.output import Format, fail, format_option, require

if TYPE_CHECKING:  # the command imports the capability (and through it the SDK) when it runs, not at CLI start
    from amlops.retraining.candidate import Outcome
    from amlops.workspace import Workspace


def candidate(
    run: str | None = typer.Argument(
        None, help="a completed run of a job whose file has the `amlops.retrains` tag; without it, see --recent"
    ),
    env: str = typer.Option(..., "--env", help="the environment the run ran in"),
    recent: int = typer.Option(
        20, "--recent", min=1, max=200, help="without RUN: propose each completed run among this many newest runs"
    ),
    format: Format = format_option(Format.text, Format.json),
    repo: Path = RepoOption,
) -> None:
    """Make RUN's model a candidate: registered and committed on branch retrain/<model>-v<N>-<run>,
    serving it in the first environment of the promotion path; nothing if its bytes are a version's already.
    Without RUN, every completed run of a retraining job among the newest (a schedule's, say), oldest first:
    one already proposed, or whose bytes a version has, makes nothing (with --format json, a line each)."""
    from amlops.cli.training import training_session
    from amlops.retraining.candidate import completed_runs

    require(format, Format.text, Format.json)
    workspace = training_session(repo, env).workspace
    if run is None:
        with azure_errors(env):
            names = completed_runs(workspace, recent)
        for name in names:
            report(repo, env, name, workspace, format)  # a run of a job that retrains no model: nothing
        return
    if report(repo, env, run, workspace, format) is None:
        fail(f"run {run}'s job retrains no model: its job file has no amlops.retrains tag")


def report(root: Path, env: str, run: str, workspace: Workspace, format: Format = Format.text) -> Outcome | None:
    """Propose `run`'s model and print what happened; exit 1 on a refusal (nothing was written)."""
    from amlops.retraining.candidate import propose
    from amlops.retraining.target import Refusal

    with azure_errors(env):
        try:
            outcome = propose(root, env, run, workspace)
        except Refusal as refusal:
            fail(f"no candidate from {run}: {refusal}; once fixed: amlops candidate {run} --env {env}")
    if outcome is None:
        return None
    if format is Format.json:
        fields = ("model", "version", "content_hash", "identical", "branch", "commit", "summary", "title", "description")
        typer.echo(json.dumps({"run": run, **{k: getattr(outcome, k) for k in fields}, "files": list(outcome.files)}))
        return outcome
    out = Console(stderr=True, highlight=False, soft_wrap=True)  # branch names stay whole, to copy and paste
    out.print(f"{run}: {outcome.summary}", markup=False)
    if outcome.branch:
        for line in (*outcome.files, *outcome.bumped):
            out.print(f"  {line}", markup=False)
        out.print(f"next: git push origin {outcome.branch}, and open a pull request", markup=False)
    return outcome
