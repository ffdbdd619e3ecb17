"""`amlops local`: run the embedded Azure ML control plane (see amlops.local)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import typer

from amlops.local.connection import Connection, default_state_dir

if TYPE_CHECKING:
    from amlops.local.client import LocalAdmin

app = typer.Typer(help="The local Azure ML control plane: a stand-in for Azure that the SDK talks to.", no_args_is_help=True)
fault_app = typer.Typer(help="Inject faults (for tests and benchmarks).", no_args_is_help=True)
app.add_typer(fault_app, name="fault")

StateDir = typer.Option(
    None, "--state-dir", help="state directory (default: $AMLOPS_LOCAL_STATE_DIR or ~/.local/state/amlops/local)"
)


def _dir(state_dir: Path | None) -> Path:
    return Path(state_dir or default_state_dir())


def _server() -> ModuleType:
    """The control plane's lifecycle, imported when a command needs it."""
    from amlops.local import lifecycle

    return lifecycle


def _admin(state_dir: Path | None) -> LocalAdmin:
    from amlops.local.client import LocalAdmin

    if not _server().status(_dir(state_dir))["running"]:
        raise typer.BadParameter(f"no control plane is running for {_dir(state_dir)}; run `amlops local up`")
    return LocalAdmin(Connection.load(_dir(state_dir)))


def _print(doc: object) -> None:
    typer.echo(json.dumps(doc, indent=2))


@app.command()
def up(
    state_dir: Path | None = StateDir,
    port: int = typer.Option(0, help="port on 127.0.0.1 (0: the previous one, else a free one)"),
    provisioning_delay: float = typer.Option(0.0, help="seconds each endpoint/deployment operation takes"),
) -> None:
    """Start the control plane in the background; returns once it answers."""
    conn = _server().start(_dir(state_dir), port, provisioning_delay=provisioning_delay)
    typer.echo(f"amlops local control plane: {conn.resource_manager} (pid {conn.pid}, state {conn.state_dir})")
    typer.echo(f'client settings: eval "$(amlops local env --state-dir {shlex.quote(conn.state_dir)})"')


@app.command()
def page(state_dir: Path | None = StateDir) -> None:
    """The link to the control plane's read-only page (workspaces, endpoints, rollouts, models): open it in a browser."""
    from amlops.local.page import PREFIX, page_key

    _admin(state_dir)  # running, or a clear error
    conn = Connection.load(_dir(state_dir))
    typer.echo(f"{conn.resource_manager.rstrip('/')}{PREFIX}/login?key={page_key(_dir(state_dir))}")


@app.command()
def down(state_dir: Path | None = StateDir) -> None:
    """Stop the control plane and every model it serves."""
    stopped = _server().stop(_dir(state_dir))
    typer.echo("stopped" if stopped else "not running")


@app.command()
def status(state_dir: Path | None = StateDir) -> None:
    """Whether it runs, and where (JSON). Exit code 1 when it does not run."""
    info = _server().status(_dir(state_dir))
    _print(info)
    if not info["running"]:
        raise typer.Exit(1)


@app.command()
def env(state_dir: Path | None = StateDir) -> None:
    """Shell exports a client needs (CA bundle, blob proxy, NO_PROXY): eval "$(amlops local env)"."""
    conn = Connection.load(_dir(state_dir))
    for name, value in conn.env().items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@app.command()
def requests(
    state_dir: Path | None = StateDir,
    reset: bool = typer.Option(False, help="reset the counters"),
    kind: str | None = typer.Option(None, help="arm, blob, scoring"),
) -> None:
    """Request counters per route (reads, writes) and the recent request log."""
    admin = _admin(state_dir)
    if reset:
        admin.reset_requests()
    _print(admin.requests(kind=kind, log=50))


@app.command()
def metrics(
    endpoint: str = typer.Argument(..., help="the endpoint's name"),
    workspace: str | None = typer.Option(None, help="the workspace (default: the connection's)"),
    since: float | None = typer.Option(None, help="unix time"),
    state_dir: Path | None = StateDir,
) -> None:
    """Per-deployment scoring metrics of an endpoint: requests, errors, latency p50/p95."""
    _print(_admin(state_dir).metrics(endpoint, workspace, since))


@fault_app.command("show")
def fault_show(state_dir: Path | None = StateDir) -> None:
    """The faults in force."""
    _print(_admin(state_dir).faults())


@fault_app.command("clear")
def fault_clear(state_dir: Path | None = StateDir) -> None:
    """Remove every fault."""
    _print(_admin(state_dir).clear_faults())


@fault_app.command("fail-deployment")
def fault_fail_deployment(
    count: int = typer.Option(1, help="how many of the next deployment operations fail"),
    message: str | None = typer.Option(None, help="the error message the failed operations report"),
    state_dir: Path | None = StateDir,
) -> None:
    """Fail the next deployment create/update(s)."""
    settings: dict[str, object] = {"fail_next_deployments": count}
    if message:
        settings["fail_message"] = message
    _print(_admin(state_dir).add_faults(**settings))


@fault_app.command("slow-provisioning")
def fault_slow_provisioning(
    seconds: float = typer.Argument(..., help="seconds each operation takes"),
    deployments: bool = typer.Option(False, "--deployments", help="only a deployment's create or update"),
    state_dir: Path | None = StateDir,
) -> None:
    """Make every endpoint/deployment operation take this long (or, with --deployments, a deployment's provisioning)."""
    _print(_admin(state_dir).add_faults(**{"deployment_delay_s" if deployments else "provisioning_delay_s": seconds}))


@fault_app.command("arm")
def fault_arm(
    status_code: int = typer.Option(429, "--status", help="429 (with Retry-After) or 503"),
    rate: float = typer.Option(0.5, help="share of matching calls answered with the error"),
    retry_after: float = typer.Option(1, help="Retry-After seconds"),
    method: list[str] | None = typer.Option(None, help="only these HTTP methods"),
    route: str | None = typer.Option(None, help="only routes containing this text"),
    count: int | None = typer.Option(None, help="stop after this many injected errors"),
    state_dir: Path | None = StateDir,
) -> None:
    """Answer a share of ARM calls with 429 or 503."""
    rule = {
        "status": status_code,
        "rate": rate,
        "retry_after": retry_after,
        "methods": [m.upper() for m in method] if method else None,
        "route_contains": route,
        "remaining": count,
    }
    _print(_admin(state_dir).add_faults(arm=[rule]))


@fault_app.command("scoring")
def fault_scoring(
    endpoint: str = typer.Argument(..., help="the endpoint's name"),
    deployment: str = typer.Argument(..., help="the deployment's name"),
    latency_ms: float = typer.Option(0, help="added latency per request"),
    error_rate: float = typer.Option(0, help="share of requests answered with --status"),
    status_code: int = typer.Option(500, "--status", help="the HTTP status of the injected errors"),
    workspace: str | None = typer.Option(None, help="only in this workspace (default: in every one)"),
    state_dir: Path | None = StateDir,
) -> None:
    """Add latency or errors to one deployment's scoring."""
    rule = {
        "endpoint": endpoint,
        "deployment": deployment,
        "workspace": workspace,
        "latency_ms": latency_ms,
        "error_rate": error_rate,
        "status": status_code,
    }
    _print(_admin(state_dir).add_faults(scoring=[rule]))
