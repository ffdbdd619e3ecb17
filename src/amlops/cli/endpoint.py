"""`amlops invoke` and `amlops logs`: what `az ml online-endpoint invoke` and `az ml online-deployment get-logs` do."""

from __future__ import annotations

from pathlib import Path

import typer

from amlops.cli.common import EnvOption, RepoOption, azure_errors
from amlops.cli.output import fail, out
from amlops.cli.rollout import session_of
from amlops.state import record
from amlops.state.live import LiveEndpoint

DeploymentOption = typer.Option(None, "--deployment", help="one deployment (its Azure name or its name in the manifests)")


def invoke(
    endpoint: str = typer.Argument(..., help="the endpoint"),
    env: str = EnvOption,
    deployment: str | None = DeploymentOption,
    file: Path | None = typer.Option(
        None, "--file", help="the request body (default: the endpoint's sample-request.json)", dir_okay=False, exists=True
    ),
    repo: Path = RepoOption,
) -> None:
    """Send one scoring request to ENDPOINT (by its traffic, or to one deployment) and print the answer."""
    session = session_of(repo, env)
    if file is None:
        folder = session.repo.endpoints.get(endpoint)
        file = folder.sample_request if folder else None
        if file is None:
            fail(f"{endpoint} has no endpoints/{endpoint}/sample-request.json: pass --file", code=2)
    with azure_errors(env):
        name = _azure_name(session.workspace.endpoint(endpoint), endpoint, deployment, env)
        answer = session.workspace.invoke(endpoint, file.read_bytes(), name)
    if not answer.ok:
        fail(f"{endpoint}: HTTP {answer.status}: {answer.text.strip()[:2000]}" if answer.status else f"{endpoint}: {answer.text}")
    typer.echo(answer.text.strip())


def logs(
    endpoint: str = typer.Argument(..., help="the endpoint"),
    env: str = EnvOption,
    deployment: str | None = typer.Option(None, "--deployment", help="the deployment (default: the one with most traffic)"),
    tail: int = typer.Option(100, "--tail", min=1, max=10000, help="the last N lines"),
    repo: Path = RepoOption,
) -> None:
    """Print the last lines of a deployment's log (the inference server's console)."""
    session = session_of(repo, env)
    with azure_errors(env):
        live = session.workspace.endpoint(endpoint)
        name = _azure_name(live, endpoint, deployment, env)
        if name is None and live is not None:
            if not live.traffic:
                fail(
                    f"{endpoint} takes no traffic: name one of its deployments with --deployment ({', '.join(sorted(live.deployments)) or 'none'})"
                )
            name = max(sorted(live.traffic), key=lambda d: live.traffic[d])
        assert name is not None
        out.print(session.workspace.logs(endpoint, name, tail).rstrip(), markup=False, highlight=False)


def _azure_name(live: LiveEndpoint | None, endpoint: str, deployment: str | None, env: str) -> str | None:
    """The deployment's Azure name: as given, or the live deployment the manifests call `deployment`."""
    if live is None:
        fail(f"{endpoint} does not exist in {env}")
    if deployment is None or deployment in live.deployments:
        return deployment
    named = [d.name for d in live.deployments.values() if d.tags.get(record.DEPLOYMENT) == deployment]
    if not named:
        fail(f"{endpoint} has no deployment {deployment!r} (it has: {', '.join(sorted(live.deployments)) or 'none'})")
    return named[0]
