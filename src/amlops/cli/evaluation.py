"""`amlops evaluate`: parse, run the plan's comparisons ahead of apply with `amlops.rollout.evaluation_ahead`, render."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from amlops.cli import github
from amlops.cli.common import EnvOption, RepoOption, azure_errors
from amlops.cli.output import Format, err, fail, format_option, out, require
from amlops.cli.rollout import session_of


def evaluate(env: str = EnvOption, format: Format = format_option(Format.text, Format.json), repo: Path = RepoOption) -> None:
    """Run the comparisons ENV's plan names before apply does, under the names apply gives them, and print both
    models' figures and the verdict. Writes nothing but those runs. Exit 1 when a candidate loses (apply will
    refuse it) or a comparison gives no verdict; a candidate apply has yet to register is left to apply."""
    from amlops.rollout.clock import SystemClock
    from amlops.rollout.evaluation_ahead import describe, evaluate_ahead, markdown, to_json
    from amlops.rollout.evaluation_runs import Waiting
    from amlops.rollout.loop import Settings
    from amlops.rollout.specs import computes_of
    from amlops.workspace.interface import poll_seconds

    require(format, Format.text, Format.json)
    session = session_of(repo, env)
    poll = poll_seconds(session.workspace, Settings().poll_seconds)

    def waiting(endpoint: str) -> Waiting:
        return Waiting(SystemClock(), poll, lambda message: err.print(f"{endpoint}: {message}", markup=False))

    with azure_errors(env):
        planned = session.plan()
        if planned.conflicts:
            fail("the plan is refused, so nothing was evaluated", *planned.conflicts)
        found = evaluate_ahead(session.workspace, session.repo, planned, computes_of(session.repo, env), waiting)
    if format is Format.json:
        typer.echo(json.dumps({"environment": env, "evaluations": to_json(found)}, indent=2))
    elif not found:
        out.print(f"{env}: no evaluation to run: no changed endpoint has one", markup=False)
    else:
        for ahead in found:
            out.print(f"{ahead.endpoint}: {describe(ahead)}", markup=False)
    if github.in_actions():
        github.add_summary(markdown(env, found))
    if any(a.finding.blocks for a in found):
        raise typer.Exit(1)
