"""`amlops plan`, `apply`, `status` and `rollback`: parse, call `amlops.rollout`, render."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from amlops.cli import github
from amlops.cli.common import EnvOption, RepoOption, azure_errors
from amlops.cli.monitor import monitor_runs_json, print_monitor_runs
from amlops.cli.output import Format, err, fail, format_option, out, require

if TYPE_CHECKING:  # the commands import the capabilities (and through them the SDK) when they run, not at CLI start
    from amlops.rollout.apply import ApplyResult
    from amlops.rollout.session import Session
    from amlops.state.live import LiveState
    from amlops.state.record import StepMeasurement
    from amlops.state.status import EndpointStatus
    from amlops.workspace.studio import Studio


def plan(
    env: str = EnvOption,
    format: Format = format_option(Format.text, Format.json, Format.markdown),
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode", help="exit 0: no changes, 2: changes, 1: error"),
    repo: Path = RepoOption,
) -> None:
    """Compare the manifests for ENV with what its workspace has, and show what `apply` would do."""
    from amlops.rollout import render
    from amlops.workspace.studio import studio

    session = session_of(repo, env)
    with azure_errors(env):
        result = session.plan()
    if format is Format.json:
        typer.echo(render.to_json(result))
    elif format is Format.markdown:
        typer.echo(render.markdown(result, studio(session.repo.environments[env].environment)))
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
    from amlops.cli.progress import Progress
    from amlops.rollout import render
    from amlops.rollout.apply import Refused
    from amlops.rollout.apply import apply as apply_plan
    from amlops.rollout.loop import Settings

    session = session_of(repo, env)
    with azure_errors(env):
        result = session.plan()
    render.print_table(result, err)
    if result.conflicts:
        raise typer.Exit(1)
    if not result.changed:
        _print_endpoints(session, result.observed)
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
        with azure_errors(env), _quiet_stdout(), Progress(err) as progress:
            outcome = apply_plan(session.context(progress, settings), result)
    except Refused as exc:
        err.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(1) from exc
    _report(outcome, time.time() - started)
    _print_endpoints(session)
    if github.in_actions():
        github.add_summary(_summary(session, outcome, time.time() - started))
    if not outcome.ok:
        raise typer.Exit(1)


def status(env: str = EnvOption, format: Format = format_option(Format.text, Format.json), repo: Path = RepoOption) -> None:
    """Per endpoint: deployments, models, provisioning, traffic and mirror, the release, the last rollout."""
    from amlops.monitoring.act import latest_runs, monitors_of
    from amlops.rollout.autoscale import describe
    from amlops.state.status import endpoint_status
    from amlops.workspace.studio import studio

    require(format, Format.text, Format.json)
    session = session_of(repo, env)
    desired = {name: session.release.endpoint(name).id for name in session.release.endpoints}
    links = studio(session.repo.environments[env].environment)
    with azure_errors(env):
        live = session.workspace.observe()
        monitors = latest_runs(session.workspace, monitors_of(session.repo, env))
        scaling = [a for a in session.workspace.autoscale_settings() if a.endpoint in live.endpoints]
    statuses = [endpoint_status(endpoint) for _, endpoint in sorted(live.endpoints.items())]
    if format is Format.json:
        serverless = [{"name": s.name, "model_id": s.model_id} for _, s in sorted(live.serverless.items())]
        data = {"environment": env, "endpoints": [_status_json(s, desired.get(s.name), links) for s in statuses]}
        autoscale = [
            {"name": a.name, "endpoint": a.endpoint, "deployment": a.deployment, "settings": describe(a)} for a in scaling
        ]
        typer.echo(
            json.dumps(
                {**data, "serverless": serverless, "autoscale": autoscale, "monitors": monitor_runs_json(monitors)}, indent=2
            )
        )
        return
    if not live.endpoints:
        out.print(f"No endpoints managed by amlops in {env}.")
    for s in statuses:
        _print_status(s, desired.get(s.name), links)
        for a in (a for a in scaling if a.endpoint == s.name):
            out.print(f"  autoscale {a.name}: {describe(a)}", markup=False)
    for name, serverless_endpoint in sorted(live.serverless.items()):
        out.print(f"[bold]serverless {name}[/]  {serverless_endpoint.model_id}")
    print_monitor_runs(monitors)


def rollback(
    env: str = EnvOption,
    endpoint: str = typer.Option(..., "--endpoint", help="the endpoint to roll back"),
    repo: Path = RepoOption,
) -> None:
    """Return ENDPOINT's traffic to its previous release, rebuilt from the commit that released it."""
    from amlops.cli.progress import Progress
    from amlops.rollout.lock import EndpointBusy
    from amlops.rollout.rollback import rollback as rollback_endpoint

    session = session_of(repo, env)
    started = time.time()
    try:
        with azure_errors(env), _quiet_stdout(), Progress(err) as progress:
            outcome = rollback_endpoint(session, endpoint, progress)
    except (ValueError, EndpointBusy) as exc:
        err.print(f"[red]rollback refused:[/] {exc}")
        raise typer.Exit(1) from exc
    _report(outcome, time.time() - started)
    if not outcome.ok:
        raise typer.Exit(1)
    err.print("Git still declares the release rolled back from: revert the change, or the next apply rolls it out again.")


def session_of(repo: Path, env: str) -> Session:
    from amlops.manifests import ManifestError
    from amlops.rollout.session import open_session

    try:
        return open_session(repo, env)
    except ManifestError as exc:
        fail(f"{len(exc.problems)} problem(s) in the manifests: nothing was changed", *exc.problems)


def _quiet_stdout() -> contextlib.AbstractContextManager[Any]:
    """The SDK prints polling dots to stdout, which is for results."""
    return contextlib.redirect_stdout(io.StringIO())


def _report(result: ApplyResult, seconds: float) -> None:
    for o in result.outcomes:
        if o.evaluated is not None:
            err.print(f"{o.endpoint}: {o.evaluated.describe()}", markup=False)
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
        f"{len(result.registered)} model and asset version(s) registered in {seconds:.1f} s"
    )


def _print_endpoints(session: Session, live: LiveState | None = None) -> None:
    """Scoring URLs, and a test prediction from each endpoint with its sample request; `live` is the workspace as
    just read (by a plan with nothing to do), else it is read now. The predictions are asked for together (each
    is three round trips) and printed in turn, as asked one after another."""
    from amlops.workspace.interface import READERS
    from amlops.workspace.studio import studio

    workspace = session.workspace
    links = studio(session.repo.environments[session.release.environment].environment)
    live = workspace.observe(session.release.endpoints) if live is None else live
    # an endpoint whose rollout failed may not exist: the report above says why
    shown = {name: live.endpoints[name] for name in sorted(session.release.endpoints) if name in live.endpoints}

    def predict(name: str) -> str | None:
        desired, endpoint = session.release.endpoints[name], shown[name]
        if not (desired.sample_request and endpoint.traffic):
            return None
        deployment = max(endpoint.traffic, key=lambda d: endpoint.traffic[d])
        return workspace.invoke(name, (session.repo.root / desired.sample_request).read_bytes(), deployment).text

    with ThreadPoolExecutor(max(1, min(READERS, len(shown))), thread_name_prefix="predict") as pool:
        predictions = {name: pool.submit(predict, name) for name in shown}
        for name, endpoint in shown.items():
            out.print(f"[bold]{name}[/]  {endpoint.scoring_uri}")
            if links:
                out.print(f"    studio: {links.endpoint(name)}", markup=False)
            answer = predictions[name].result()
            if answer is not None:
                out.print(f"    test prediction: {answer.strip()[:200]}", markup=False)


def _print_status(s: EndpointStatus, desired: str | None, links: Studio | None) -> None:
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
    if links:
        out.print(f"  studio: {links.endpoint(s.name)}", markup=False)
        for d in s.deployments:
            out.print(f"    {d.name}: {links.deployment(s.name, d.name)}", markup=False)
    if s.rollout:
        out.print(f"  last rollout: {s.rollout.start or '(new)'} -> {s.rollout.to}, {s.rollout.status.value}")
        for m in s.measured:
            out.print(f"    step {m.step + 1}: {_measurement(m)}")
    if s.evaluated:
        out.print(f"  {s.evaluated.describe()}", markup=False)
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


def _status_json(s: EndpointStatus, desired: str | None, links: Studio | None) -> dict[str, Any]:
    rollout = s.rollout
    return {
        "name": s.name,
        "healthy": s.healthy,
        "provisioning_state": s.provisioning_state,
        "endpoint_release": s.endpoint_release,
        "desired_endpoint_release": desired,
        "environment_release": s.environment_release,
        "since": s.since.isoformat() if s.since else None,
        "commit": s.commit,
        "scoring_uri": s.scoring_uri,
        "studio": links.endpoint(s.name) if links else None,
        "deployments": [{**d.__dict__, "studio": links.deployment(s.name, d.name) if links else None} for d in s.deployments],
        "rollout": None
        if rollout is None
        else {"from": rollout.start, "to": rollout.to, "status": rollout.status.value, "step": rollout.step},
        "measured": [
            {
                "step": m.step + 1,
                "requests": m.measurement.requests,
                "errors": m.measurement.errors,
                "p95_ms": m.measurement.p95_ms,
                "passed": m.passed,
            }
            for m in s.measured
        ],
        "reason": s.reason,
        "evaluation": None
        if s.evaluated is None
        else {
            "candidate": s.evaluated.candidate,
            "live": s.evaluated.live,
            "passed": s.evaluated.passed,
            "figures": {m: {"candidate": c, "live": v} for m, (c, v) in s.evaluated.figures.items()},
            "job": s.evaluated.job,
        },
        "previous": None if s.previous is None else {"release": s.previous.release, "commit": s.previous.commit},
        "lock": None if s.lock is None else {"holder": s.lock.holder, "expires": s.lock.expires},
    }


def _summary(session: Session, result: ApplyResult, seconds: float) -> str:
    """The job summary of an apply in GitHub Actions: one row per endpoint, with its gates' figures."""
    from amlops.workspace.studio import studio

    env = session.release.environment
    links = studio(session.repo.environments[env].environment)
    lines = [
        f"### amlops apply: `{env}`, release {session.release.alias} (`{session.release.id}`)",
        "",
        "| endpoint | result | gates |",
        "|---|---|---|",
    ]
    rows = [(o.endpoint, ":white_check_mark: rolled out", o.measured, o.evaluated) for o in result.outcomes]
    rows += [(f.endpoint, f":x: rolled back: {f.reason}", f.measured, f.evaluated) for f in result.rolled_back]
    rows += [
        (n, f":x: failed: {m}", [], None) for n, m in result.failures.items() if all(f.endpoint != n for f in result.rolled_back)
    ]
    for name, outcome, measured, evaluated in sorted(rows, key=lambda r: r[0]):
        label = f"[{name}]({links.endpoint(name)})" if links else name
        checks = [evaluated.describe()] if evaluated else []  # both models' figures, before any traffic
        gates = "<br>".join(checks + [f"step {m.step + 1}: {_measurement(m)}" for m in measured]) or "-"
        text = outcome.splitlines()[0].replace("|", "/")
        lines.append(f"| {label} | {text} | {gates} |")
    registered = ", ".join(f"`{m}`" for m in result.registered) or "none"
    return "\n".join([*lines, "", f"Models registered: {registered}. {seconds:.0f} s."])
