"""`amlops monitor`, and the monitors section of `amlops status`: parse, call `amlops.monitoring`, render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from amlops.cli.common import EnvOption, RepoOption, azure_errors
from amlops.cli.output import fail, out
from amlops.cli.training import finish, training_session

if TYPE_CHECKING:  # the command imports the capability (and through it the SDK) when it runs, not at CLI start
    from amlops.monitoring.act import Outcome
    from amlops.workspace.interface import MonitorRun, Run


def monitor(
    env: str = EnvOption,
    format: str = typer.Option("text", "--format", help="text or json"),
    wait: bool = typer.Option(
        False, "--wait", help="follow each run started to its end, and make the model it retrains a candidate branch"
    ),
    repo: Path = RepoOption,
) -> None:
    """Read ENV's model monitors' latest runs; start each breached monitor's `on_breach` job, once per breach;
    with --wait, follow each to its end and make its candidate, as `amlops run --wait` does."""
    from amlops.monitoring.act import run_monitors
    from amlops.monitoring.decide import Action
    from amlops.training.submit import Refused

    session = training_session(repo, env)

    def hand_off(root: Path, environment: str, started: Run) -> None:
        finish(root, environment, session.workspace, started)

    try:
        with azure_errors(env):
            outcomes = run_monitors(session, hand_off if wait else None)
    except Refused as exc:
        fail(f"refused: {exc}")
    if format == "json":
        typer.echo(json.dumps([_outcome_json(o) for o in outcomes], indent=2))
        return
    if not outcomes:
        out.print(f"No model monitors in {env}.")
    for o in outcomes:
        v = o.verdict
        what = {
            Action.start: f"[red]breached[/]: started {v.monitor.on_breach} as [bold]{o.started.name if o.started else '?'}[/]",
            Action.answered: f"[red]breached[/]: answered by {v.answered_by}",
            Action.breached: "[red]breached[/]: no on_breach job in the environment file",
            Action.healthy: "[green]healthy[/]",
            Action.waiting: f"waiting ({v.latest.status if v.latest else 'no run yet'})",
        }[v.action]
        out.print(f"[bold]monitor {v.monitor.name}[/]  {what}  {v.latest.run if v.latest else ''}")


def print_monitor_runs(latest: dict[str, MonitorRun | None]) -> None:
    """`amlops status`'s section: per monitor, its latest run and each signal's metric, value and threshold."""
    for name, run in sorted(latest.items()):
        if run is None:
            out.print(f"[bold]monitor {name}[/]  no run yet")
            continue
        verdict = "[red]breached[/]" if run.breached else ("[green]ok[/]" if run.status == "Completed" else run.status)
        out.print(f"[bold]monitor {name}[/]  {verdict}  run {run.run}  {run.created[:19]}")
        for r in run.results:
            mark = "[red]breached[/]" if r.breached else "ok"
            out.print(f"  {r.signal}  {r.feature or '-'}  {r.metric} {r.value:.4g} (threshold {r.threshold:g})  {mark}")


def monitor_runs_json(latest: dict[str, MonitorRun | None]) -> list[dict[str, Any]]:
    return [
        {
            "monitor": name,
            "run": run.run if run else None,
            "status": run.status if run else None,
            "breached": run.breached if run else False,
            "results": [vars(r) for r in run.results] if run else [],
        }
        for name, run in sorted(latest.items())
    ]


def _outcome_json(o: Outcome) -> dict[str, Any]:
    v = o.verdict
    return {
        "monitor": v.monitor.name,
        "action": v.action.value,
        "monitor_run": v.latest.run if v.latest else None,
        "answered_by": v.answered_by,
        "started": o.started.name if o.started else None,
    }
