"""`amlops run` and `amlops runs`: parse, call `amlops.training`, render."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from amlops.cli.common import RepoOption, azure_errors
from amlops.cli.output import err, fail, out

if TYPE_CHECKING:  # the commands import the capability (and through it the SDK) when they run, not at CLI start
    from amlops.training.follow import Watchers
    from amlops.training.submit import TrainingSession
    from amlops.workspace import Workspace
    from amlops.workspace.interface import Run, RunStep

EnvOption = typer.Option(..., "--env", help="the environment (environments/<env>.yaml)")
_COLOURS = {"Completed": "green", "Failed": "red", "Canceled": "yellow", "Running": "cyan"}


def run(
    job: str = typer.Argument(..., help="the job: jobs/<job>.yml, one of the environment's `jobs`"),
    env: str = EnvOption,
    wait: bool = typer.Option(False, "--wait", help="follow the run to its end: steps, logs, and its result as exit code"),
    set_: list[str] = typer.Option([], "--set", help="inputs.NAME=VALUE, to override one of the job's inputs (repeatable)"),
    repo: Path = RepoOption,
) -> None:
    """Submit JOB to ENV's workspace; with --wait, exit 0 only if it completes, and once it has, make the
    model it retrains a candidate branch (see `amlops candidate`)."""
    from amlops.training.submit import Refused, job_spec, parse_sets

    session = training_session(repo, env)
    try:
        spec = job_spec(session, job, parse_sets(set_))
    except Refused as exc:
        fail(f"refused: {exc}")
    with azure_errors(env):
        submitted = session.workspace.submit(spec)
    err.print(f"submitted {job} as [bold]{submitted.name}[/]: {submitted.studio_url}", soft_wrap=True)
    if wait:
        finish(repo, env, session.workspace, submitted)


def finish(repo: Path, env: str, workspace: Workspace, submitted: Run) -> None:
    """Follow a submitted run to its end; exit 1 unless it completes, and once it has, make the model it retrains a
    candidate branch. `amlops run --wait` and `amlops monitor --wait` end the same way."""
    from amlops.training.follow import POLL_SECONDS, follow
    from amlops.workspace.interface import poll_seconds

    poll = poll_seconds(workspace, POLL_SECONDS)
    with azure_errors(env):
        try:
            ended = follow(workspace, submitted.name, _watchers(), poll=poll)
        except KeyboardInterrupt:
            err.print(f"\nstopped following; {submitted.name} goes on: {submitted.studio_url}")
            raise typer.Exit(130) from None
    colour = _COLOURS.get(ended.status, "white")
    err.print(f"{submitted.name}: [{colour}]{ended.status}[/]{f' ({ended.error})' if ended.error else ''}")
    if ended.status != "Completed":
        raise typer.Exit(1)
    from amlops.cli.candidate import report

    report(repo, env, submitted.name, workspace)  # a job that retrains a model: its candidate branch


def runs(
    env: str = EnvOption,
    limit: int = typer.Option(20, "--limit", min=1, max=200, help="how many of the newest runs"),
    repo: Path = RepoOption,
) -> None:
    """The newest runs in ENV's workspace: status and Azure ML studio link."""
    session = training_session(repo, env)
    with azure_errors(env):
        found = session.workspace.runs(limit)
    if not found:
        out.print(f"No runs in {env}.")
        return
    for r in found:  # lines, not a table: studio links are long, and whole they stay clickable
        out.print(f"[bold]{r.name}[/]  {_status(r.status)}  {r.kind}  {r.created[:19]}  {r.display_name}")
        out.print(f"    {r.studio_url}", markup=False)


def training_session(repo: Path, env: str) -> TrainingSession:
    from amlops.manifests import ManifestError
    from amlops.training.submit import open_training

    try:
        return open_training(repo, env)
    except ManifestError as exc:
        fail(f"{len(exc.problems)} problem(s) in the manifests: nothing was submitted", *exc.problems)


def _watchers() -> Watchers:
    from amlops.training.follow import Watchers

    lock = threading.Lock()  # logs arrive from the stream's thread, statuses from this one
    # The SDK streams logs to sys.stdout, which the workspace redirects to `log` meanwhile: keep the real one.
    stdout = sys.stdout

    def status(r: Run) -> None:
        with lock:
            err.print(f"[bold]{r.name}[/] {_status(r.status)}")

    def step(s: RunStep) -> None:
        with lock:
            err.print(f"  step [bold]{s.node}[/] {_status(s.status)}")

    def log(text: str) -> None:
        with lock:
            stdout.write(text)
            stdout.flush()

    return Watchers(status, step, log)


def _status(status: str) -> str:
    return f"[{_COLOURS.get(status, 'white')}]{status}[/]"
