"""`amlops`: the root command. Each sub-command lives in its own module beside this one."""

from __future__ import annotations

import typer

from amlops import __version__
from amlops.cli.common import quiet_sdk

app = typer.Typer(
    name="amlops",
    help="Operate Azure Machine Learning from Git: validate, plan, apply, promote, train.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion [bash|zsh|fish|powershell]
)


def _version(asked: bool) -> None:
    if asked:
        typer.echo(f"amlops {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print amlops's version and exit"),
) -> None:
    quiet_sdk()


def _register() -> None:
    """Attach the command modules, one module per command or command group."""
    from amlops.cli import (
        adopt,
        candidate,
        comment,
        endpoint,
        evaluation,
        infra,
        local,
        monitor,
        promote,
        release,
        rollout,
        schema,
        training,
        validate,
    )

    app.command("validate")(validate.validate)
    app.command("schema")(schema.schema)
    app.command("plan")(rollout.plan)
    app.command("evaluate")(evaluation.evaluate)
    app.command("apply")(rollout.apply)
    app.command("status")(rollout.status)
    app.command("monitor")(monitor.monitor)
    app.command("rollback")(rollout.rollback)
    app.command("invoke")(endpoint.invoke)
    app.command("logs")(endpoint.logs)
    app.command("import")(adopt.adopt)
    app.command("comment")(comment.comment)
    app.command("run")(training.run)
    app.command("runs")(training.runs)
    app.command("candidate")(candidate.candidate)
    app.add_typer(infra.app, name="infra")
    app.add_typer(local.app, name="local")
    app.add_typer(release.app, name="release")
    app.command("promote")(promote.promote)


_register()
