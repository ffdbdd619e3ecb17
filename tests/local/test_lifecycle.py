"""`amlops local up/status/env/down`, and no orphans even when the control plane is killed."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import ssl
import time
from pathlib import Path

import certifi
import pytest
from azure.ai.ml.entities import ManagedOnlineEndpoint, Model
from typer.testing import CliRunner

from amlops.cli.main import app
from amlops.local import server
from amlops.local.connection import Connection

pytestmark = pytest.mark.slow


def test_cli_up_status_env_down(tmp_path, env_cache) -> None:
    state = tmp_path / "state"
    runner = CliRunner()
    try:
        up = runner.invoke(app, ["local", "up", "--state-dir", str(state)], env={"AMLOPS_ENV_CACHE": str(env_cache)})
        assert up.exit_code == 0, up.output
        conn = Connection.load(state)
        doc = json.loads((state / "connection.json").read_text())
        for field in (
            "resource_manager",
            "ca_bundle",
            "proxy",
            "cloud_name",
            "cloud_metadata",
            "subscription_id",
            "resource_group",
            "workspace_name",
        ):
            assert doc[field], field
        assert str(conn.port) in conn.cloud_name
        assert "-----BEGIN CERTIFICATE-----" in Path(conn.ca_bundle).read_text()
        status = runner.invoke(app, ["local", "status", "--state-dir", str(state)])
        assert status.exit_code == 0 and json.loads(status.output)["running"] is True
        env = runner.invoke(app, ["local", "env", "--state-dir", str(state)]).output
        assert "export NO_PROXY=127.0.0.1" in env and f"export HTTPS_PROXY=http://127.0.0.1:{conn.port}" in env
        assert "REQUESTS_CA_BUNDLE=" in env
        fault = runner.invoke(app, ["local", "fault", "arm", "--status", "503", "--rate", "0.25", "--state-dir", str(state)])
        assert fault.exit_code == 0 and json.loads(fault.output)["arm"][0]["status"] == 503
    finally:
        down = runner.invoke(app, ["local", "down", "--state-dir", str(state)])
    assert down.output.strip() == "stopped"
    assert runner.invoke(app, ["local", "status", "--state-dir", str(state)]).exit_code == 1


def test_admin_calls_trust_the_local_ca_alone(local, tmp_path) -> None:
    """The admin routes answer at 127.0.0.1, which only the plane's own CA signs for: verifying against it, not
    against the whole bundle (the system's and certifi's CAs too), trusts less and parses 1 KB, not 450 KB."""
    without_local_ca = dataclasses.replace(local.conn, ca_bundle=certifi.where())
    assert server.admin_call(without_local_ca, "GET", "/_local/health")["status"] == "ok"
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "tls").mkdir(parents=True)
    (elsewhere / "tls" / "ca.pem").write_bytes(Path(certifi.where()).read_bytes())
    with pytest.raises(ssl.SSLCertVerificationError):
        server.admin_call(dataclasses.replace(local.conn, state_dir=str(elsewhere)), "GET", "/_local/health")


def test_killed_control_plane_leaves_no_orphans_and_restores(local) -> None:
    ml = local.client()
    ml.models.create_or_update(Model(name="m", path=str(local.model_dir()), type="custom_model"))
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="survivor")).result()
    ml.online_deployments.begin_create_or_update(local.deployment("survivor", "main", "azureml:m:1")).result()
    serving = local.serving_processes()
    assert serving, "the deployment should run an inference server"

    os.kill(local.conn.pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in serving) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in serving), "serving processes outlived a killed control plane"

    local.conn = server.start(local.state_dir, env_cache=local.env_cache)
    ml = local.client()
    assert ml.online_deployments.get("main", "survivor").provisioning_state == "Succeeded"
    answer = ml.online_endpoints.invoke("survivor", request_file=str(local.request_file({"data": [1]})), deployment_name="main")
    assert json.loads(answer)["who"] == "main"


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
