"""`amlops import FOLDER`: bring an existing Azure ML CLI v2 folder into the repository, its files unchanged."""

from __future__ import annotations

from pathlib import Path

import typer

from amlops.cli.common import RepoOption
from amlops.cli.output import err, fail, out


def adopt(
    folder: Path = typer.Argument(
        ..., help="the CLI v2 folder: an endpoint file, deployment files", file_okay=False, exists=True
    ),
    env: list[str] = typer.Option(["local"], "--env", help="environments to serve the endpoint in (repeatable)"),
    deployment: list[str] = typer.Option([], "--deployment", help="import only this deployment (repeatable; default: all)"),
    repo: Path = RepoOption,
) -> None:
    """Copy FOLDER's endpoint and deployments in, with the files they name; write model files and ENV entries.

    Then validate: on any problem nothing stays written.
    """
    from amlops.adopt.importer import ImportRefused, carry_out, plan_import  # it loads the SDK: not at CLI start

    try:
        plan = plan_import(folder, repo, env, deployment)
    except ImportRefused as exc:
        fail(f"import refused, nothing was written: {exc}")
    problems = carry_out(plan, repo.resolve(), env)
    if problems:
        fail("the imported files do not validate, nothing was written", *problems)
    root = repo.resolve()
    for destination in sorted([*plan.copies, *plan.writes]):
        out.print(f"  {destination.relative_to(root).as_posix()}", markup=False)
    for note in plan.notes:
        err.print(f"note: {note}", markup=False)
    for skipped in plan.skipped:
        err.print(f"not imported: {skipped}", markup=False)
    served = ", ".join(f"{d} ({m})" for d, m in plan.deployments.items())
    err.print(f"imported endpoint {plan.endpoint}: {served}; served in {', '.join(env)}", markup=False)
