"""The control plane's lifecycle, as its clients see it: start it (a detached process), ask its status,
call its admin routes, stop it.

Apart from `server` (which re-exports these) because a client needs none of the server's machinery:
`open_workspace` and the CLI start or reach a running plane on every command, and importing the HTTP
server, the ARM routes and the store only to do that costs them about 80 ms.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from amlops.local import tokens
from amlops.local.connection import CONNECTION_FILE, Connection, default_state_dir
from amlops.processes import alive

PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def private_dir(path: Path) -> None:
    """A directory only its owner can enter (made so if it already exists)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _is_server(pid: int) -> bool:
    try:
        return b"amlops.local.server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def admin_call(conn: Connection, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
    """Call an admin route (`/_local/...`) and return its JSON.

    Verified against the local CA alone: nothing else signs for 127.0.0.1 here, and the bundle (the system's
    and certifi's CAs too, 450 KB) took about 40 ms of CPU to parse on every call."""
    ctx = ssl.create_default_context(cafile=conn.ca_cert)
    client = http.client.HTTPSConnection("127.0.0.1", conn.port, context=ctx, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        bearer, _ = tokens.issue(conn.token, "https://management.azure.com/.default")
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"}
        client.request(method, path, body=data, headers=headers)
        resp = client.getresponse()
        payload = resp.read()
        if resp.status >= 400:
            raise RuntimeError(f"{method} {path}: {resp.status} {payload.decode(errors='replace')}")
        return json.loads(payload) if payload else None
    finally:
        client.close()


def status(state_dir: Path | str | None = None) -> dict[str, Any]:
    """{"running": bool, ...health} for a state dir."""
    state_dir = Path(state_dir or default_state_dir())
    try:
        conn = Connection.load(state_dir)
    except FileNotFoundError:
        return {"running": False, "state_dir": str(state_dir)}
    if not (alive(conn.pid) and _is_server(conn.pid)):
        return {"running": False, "state_dir": str(state_dir), "port": conn.port}
    try:
        return {"running": True, **admin_call(conn, "GET", "/_local/health", timeout=2)}
    except (OSError, RuntimeError, ssl.SSLError):
        return {"running": False, "state_dir": str(state_dir), "port": conn.port, "pid": conn.pid, "starting": True}


def start(
    state_dir: Path | str | None = None,
    port: int = 0,
    *,
    provisioning_delay: float = 0.0,
    env_cache: Path | str | None = None,
    timeout: float = 180.0,
) -> Connection:
    """Start the control plane as a detached process and return once it answers and has brought back
    the deployments it was serving. Idempotent: an already running server is returned as is.
    port 0 reuses the state dir's previous port if there is one, else picks a free port."""
    state_dir = Path(state_dir or default_state_dir()).expanduser().resolve()
    private_dir(state_dir)
    current = status(state_dir)
    if current["running"]:
        conn = Connection.load(state_dir)
        if port and port != conn.port:
            raise RuntimeError(f"already running on port {conn.port} for {state_dir}")
        return conn
    if not port and (state_dir / CONNECTION_FILE).exists():
        port = Connection.load(state_dir).port
    cmd = [
        sys.executable,
        "-m",
        "amlops.local.server",
        "--state-dir",
        str(state_dir),
        "--port",
        str(port),
        "--provisioning-delay",
        str(provisioning_delay),
    ]
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    if env_cache:
        env["AMLOPS_ENV_CACHE"] = str(env_cache)
    (state_dir / CONNECTION_FILE).unlink(missing_ok=True)
    with os.fdopen(os.open(state_dir / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=state_dir
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (state_dir / "server.log").read_text(errors="replace").splitlines()[-30:]
            raise RuntimeError("the local control plane exited at start:\n" + "\n".join(tail))
        current = status(state_dir)
        if current["running"] and current.get("pid") == proc.pid and not current.get("restoring"):
            return Connection.load(state_dir)
        time.sleep(0.1)
    stop(state_dir)
    raise TimeoutError(f"the local control plane did not come up within {timeout:.0f}s")


def stop(state_dir: Path | str | None = None, timeout: float = 60.0) -> bool:
    """Stop the control plane and every serving process it started. True if a server was running."""
    from amlops.local.serving import reap_stale  # the supervisor's bookkeeping: only a stop needs it

    state_dir = Path(state_dir or default_state_dir()).expanduser().resolve()
    was_running = False
    try:
        conn = Connection.load(state_dir)
    except FileNotFoundError:
        conn = None
    if conn and alive(conn.pid) and _is_server(conn.pid):
        was_running = True
        os.kill(conn.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(conn.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(conn.pid):
            os.kill(conn.pid, signal.SIGKILL)
            while alive(conn.pid):
                time.sleep(0.05)
    reap_stale(state_dir)
    return was_running
