"""`amlops plan`, `apply`, `status` and `rollback`: parse, call `amlops.rollout`, render."""

from __future__ import annotations

import contextlib
import io
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import typer
from rich.table import Table

from amlops.cli.common import RepoOption, azure_errors
from amlops.cli.output import Format, err, fail, format_option, out
from amlops.manifests import ManifestError
from amlops.rollout import render
from amlops.rollout.apply import ApplyResult, Refused
from amlops.rollout.apply import apply as apply_plan
from amlops.rollout.lock import EndpointBusy
from amlops.rollout.loop import Settings
from amlops.rollout.rollback import rollback as rollback_endpoint
from amlops.rollout.session import Session, open_session
from amlops.state.record import StepMeasurement
from amlops.state.status import EndpointStatus, endpoint_status

EnvOption = typer.Option(..., "--env", help="the environment (environments/<env>.yaml)")


def plan(
    env: str = EnvOption,
    format: Format = format_option(Format.text, Format.json, Format.markdown),
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode", help="exit 0: no changes, 2: changes, 1: error"),
    repo: Path = RepoOption,
) -> None:
    """Compare the manifests for ENV with what its workspace has, and show what `apply` would do."""
    session = _session(repo, env)
    with azure_errors(env):
        result = session.plan()
    if format is Format.json:
        typer.echo(render.to_json(result))
    elif format is Format.markdown:
        typer.echo(render.markdown(result))
    else:
        render.print_table(result, out)
    if result.conflicts:
        raise typer.Exit(1)
    raise typer.Exit(2 if detailed_exitcode and result.changed else 0)


def apply(
    env: str = EnvOption,
    auto_approve: bool = typer.Option(False, "--auto-approve", help="apply without asking"),
    lock_wait: float = typer.Option(0, "--lock-wait", help="seconds to wait for another apply's lock before refusing"),
    gate_timeout: float = typer.Option(None, "--gate-timeout", help="seconds a gate may wait for its minimum requests"),
    repo: Path = RepoOption,
) -> None:
    """Carry the plan out: register models, roll endpoints out step by step, gated, in parallel."""
    session = _session(repo, env)
    with azure_errors(env):
        result = session.plan()
    render.print_table(result, err)
    if result.conflicts:
        raise typer.Exit(1)
    if not result.changed:
        _print_endpoints(session)
        return
    if not auto_approve:
        if not sys.stdin.isatty():
            err.print("refusing to apply without a terminal to confirm on: pass --auto-approve")
            raise typer.Exit(1)
        typer.confirm("Apply these changes?", abort=True)
    default_timeout = 120.0 if session.workspace.local else 1800.0
    settings = Settings(gate_timeout=gate_timeout or default_timeout, lock_wait=lock_wait)
    started = time.time()
    try:
        with azure_errors(env), contextlib.redirect_stdout(io.StringIO()):  # the SDK prints polling dots to stdout
            outcome = apply_plan(session.context(_progress(started), settings), result)
    except Refused as exc:
        err.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(1) from exc
    _report(outcome, time.time() - started)
    _print_endpoints(session)
    if not outcome.ok:
        raise typer.Exit(1)


def status(env: str = EnvOption, repo: Path = RepoOption) -> None:
    """Per endpoint: deployments, models, provisioning, traffic and mirror, the release, the last rollout."""
    session = _session(repo, env)
    desired = {name: session.release.endpoint(name).id for name in session.release.endpoints}
    with azure_errors(env):
        live = session.workspace.observe()
    if not live.endpoints:
        out.print(f"No endpoints managed by amlops in {env}.")
    for name, endpoint in sorted(live.endpoints.items()):
        _print_status(endpoint_status(endpoint), desired.get(name))
    for name, s in sorted(live.serverless.items()):
        out.print(f"[bold]serverless {name}[/]  {s.model_id}")


def rollback(
    env: str = EnvOption,
    endpoint: str = typer.Option(..., "--endpoint", help="the endpoint to roll back"),
    repo: Path = RepoOption,
) -> None:
    """Return ENDPOINT's traffic to its previous release, rebuilt from the commit that released it."""
    session = _session(repo, env)
    started = time.time()
    try:
        with azure_errors(env), contextlib.redirect_stdout(io.StringIO()):  # the SDK prints polling dots to stdout
            outcome = rollback_endpoint(session, endpoint, _progress(started))
    except (ValueError, EndpointBusy) as exc:
        err.print(f"[red]rollback refused:[/] {exc}")
        raise typer.Exit(1) from exc
    _report(outcome, time.time() - started)
    if not outcome.ok:
        raise typer.Exit(1)
    err.print("Git still declares the release rolled back from: revert the change, or the next apply rolls it out again.")


def _session(repo: Path, env: str) -> Session:
    try:
        return open_session(repo, env)
    except ManifestError as exc:
        fail(f"{len(exc.problems)} problem(s) in the manifests: nothing was changed", *exc.problems)


_COLOURS = ("cyan", "magenta", "green", "yellow", "blue")


def _progress(started: float) -> Callable[[str, str], None]:
    """Progress lines as events arrive, one colour per endpoint (endpoints roll out in parallel)."""
    lock, colours = threading.Lock(), dict[str, str]()

    def event(endpoint: str, message: str) -> None:
        with lock:
            colour = colours.setdefault(endpoint, _COLOURS[len(colours) % len(_COLOURS)])
            err.print(
                f"[dim]{time.time() - started:6.1f}s[/] [{colour}]{endpoint:>14}[/] {message}", markup=True, highlight=False
            )

    return event


def _report(result: ApplyResult, seconds: float) -> None:
    for failure in result.rolled_back:
        err.print(f"[red]{failure.endpoint}: rolled back[/]: {failure.reason}", markup=True)
        for m in failure.measured:
            err.print(f"    step {m.step + 1}: {_measurement(m)}")
    for name, message in result.failures.items():
        if name in result.stopped:
            err.print(f"[yellow]{name}: stopped[/]: {message}")
            err.print(f"    left {result.stopped[name]}", markup=False)
            err.print("    run apply again to resume from there", markup=False)
        elif all(f.endpoint != name for f in result.rolled_back):
            err.print(f"[red]{name}: failed[/]: {message}")
    done, stopped = len(result.outcomes), len(result.stopped)
    err.print(
        f"{done} endpoint(s) rolled out, {len(result.failures) - stopped} failed, {stopped} stopped, "
        f"{len(result.registered)} model version(s) registered in {seconds:.1f} s"
    )


def _print_endpoints(session: Session) -> None:
    """Scoring URLs, and a test prediction from each endpoint with its sample request."""
    workspace = session.workspace
    live = workspace.observe(session.release.endpoints)
    for name, desired in sorted(session.release.endpoints.items()):
        endpoint = live.endpoints.get(name)
        if endpoint is None:  # an endpoint whose rollout failed may not exist: the report above says why
            continue
        out.print(f"[bold]{name}[/]  {endpoint.scoring_uri}")
        if desired.sample_request and endpoint.traffic:
            deployment = max(endpoint.traffic, key=lambda d: endpoint.traffic[d])
            answer = workspace.invoke(name, (session.repo.root / desired.sample_request).read_bytes(), deployment)
            out.print(f"    test prediction: {answer.text.strip()[:200]}", markup=False)


def _print_status(s: EndpointStatus, desired: str | None) -> None:
    state = "[green]healthy[/]" if s.healthy else "[yellow]not healthy[/]"
    since = s.since.strftime("%Y-%m-%d %H:%M:%S UTC") if s.since else "-"
    drift = "" if desired is None or desired == s.endpoint_release else f"  [yellow](manifests declare {desired})[/]"
    out.print(
        f"[bold]{s.name}[/]  {state}  release {s.endpoint_release or '-'} since {since}, commit {(s.commit or '-')[:12]}{drift}"
    )
    table = Table("deployment", "model", "state", "instances", "traffic", "mirror")
    for d in s.deployments:
        table.add_row(d.name, d.model or "-", d.provisioning_state, d.instances, f"{d.traffic} %", f"{d.mirror} %")
    out.print(table)
    if s.rollout:
        out.print(f"  last rollout: {s.rollout.start or '(new)'} -> {s.rollout.to}, {s.rollout.status.value}")
        for m in s.measured:
            out.print(f"    step {m.step + 1}: {_measurement(m)}")
    if s.reason:
        out.print(f"  reason: {s.reason}", markup=False)
    if s.previous:
        out.print(f"  previous release: {s.previous.release} (commit {(s.previous.commit or '-')[:12]})")
    if s.lock:
        out.print(f"  locked by {s.lock.holder} until {time.strftime('%H:%M:%S', time.localtime(s.lock.expires))}")


def _measurement(m: StepMeasurement) -> str:
    p95 = "n/a" if m.measurement.p95_ms is None else f"{m.measurement.p95_ms:.0f} ms"
    verdict = "passed" if m.passed else "failed"
    return f"{m.measurement.requests} requests, {m.measurement.errors} errors, p95 {p95}: {verdict}"
