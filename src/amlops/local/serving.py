"""Model serving: one `azmlinfsrv` process per deployment (the inference server Azure ML's own images
run) in the deployment's Python environment (built and cached by `environments`, with the inference
server added), supervised so that none outlives the control plane. Each listens on a unix socket in a
directory only the control plane's user can open, not on a TCP port: in Azure a model is reachable
only through its endpoint, which checks the caller's key, so here too the scoring router is the only
way in.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from amlops.local import promptflow
from amlops.local.datacollector import CollectionSpec, Receiver, Sink
from amlops.local.environments import EnvBuildError, EnvCache, log_line

SERVER_PACKAGE = "azureml-inference-server-http"
_MARKER = "AMLOPS_LOCAL_SERVING"  # env var that identifies our serving processes
JOB_MARKER = "AMLOPS_LOCAL_JOB"  # and our job processes


def with_server(requirements: list[str]) -> list[str]:
    """The requirements plus the inference server, unless the spec already names it."""
    named = {r.split(";")[0].strip().lower().replace("_", "-") for r in requirements}
    if not any(n.startswith(SERVER_PACKAGE) for n in named):
        requirements = [*requirements, SERVER_PACKAGE]
    return requirements


@dataclass(frozen=True)
class ServingSpec:
    """Everything needed to run one deployment, resolved from ARM state to local paths."""

    key: str  # "<workspace id>/<endpoint>/<deployment>"
    requirements: tuple[str, ...]
    model_path: Path | None = None  # the registered model folder or file
    model_name: str = "model"
    model_version: str = "1"
    code_dir: Path | None = None
    scoring_script: str | None = None
    mlflow_config: dict[str, Any] | None = None  # set for MLflow models served without a user script
    environment_variables: dict[str, str] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()  # conda dependencies the environment policy left out
    serves_flow: bool = False  # the model is a prompt flow folder, served by promptflow's app
    readiness_path: str = "/"
    collection: CollectionSpec | None = None  # the deployment's enabled data collections


class ProvisionError(Exception):
    pass


@dataclass
class _Running:
    process: subprocess.Popen[bytes]
    socket: str
    collector: Receiver | None = None  # the deployment's model data collector, with the process


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over the unix socket a serving process listens on."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Supervisor:
    """Starts, tracks and stops serving processes. Each runs in its own process group (so its gunicorn
    workers go with it) and dies with the control plane (PR_SET_PDEATHSIG); their pids are also kept
    in `serving-pids.json` so a later start or `down` reaps any left by a crash."""

    def __init__(self, state_dir: Path, env_cache: EnvCache, ready_timeout: float = 180.0) -> None:
        self.state_dir = state_dir
        self.env_cache = env_cache
        self.ready_timeout = ready_timeout
        self._running: dict[str, _Running] = {}
        self._cond = threading.Condition()
        # Popen runs on this one long-lived thread: PR_SET_PDEATHSIG fires when the *thread* that
        # forked the child ends, and provisioning threads are short-lived.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")
        self._stopping = False
        self._short_run_dir: Path | None = None

    # -- paths ----------------------------------------------------------------------------------------
    def deployment_dir(self, key: str) -> Path:
        return self.state_dir / "deployments" / key

    def log_path(self, key: str) -> Path:
        return self.deployment_dir(key) / "deployment.log"

    def socket_path(self, key: str) -> Path:
        """Where a deployment's server listens: short (sun_path holds 107 bytes), in a private directory."""
        name = hashlib.sha256(key.encode()).hexdigest()[:16] + ".sock"
        if len(str(self.state_dir / "run" / name)) > 100:
            if self._short_run_dir is None:
                self._short_run_dir = Path(tempfile.mkdtemp(prefix="amlops-run-"))  # mode 0700
            return self._short_run_dir / name
        return self.state_dir / "run" / name

    def forget(self, key: str) -> None:
        """Remove what a deleted deployment leaves (its logs, model copy, socket): a later deployment of
        the same name starts afresh, and its failure reports show only its own lines."""
        shutil.rmtree(self.deployment_dir(key), ignore_errors=True)
        base = self.socket_path(key)
        for sock in base.parent.glob(f"{base.stem}-*.sock"):
            sock.unlink(missing_ok=True)

    def log(self, key: str, message: str) -> None:
        """Append a control-plane line to a deployment's log (what getLogs returns)."""
        self.deployment_dir(key).mkdir(parents=True, exist_ok=True)
        with self.log_path(key).open("a") as log:
            log_line(log, message)

    def read_log(self, key: str, tail: int | None = None) -> str:
        path = self.log_path(key)
        if not path.exists():
            return ""
        lines = path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:] if tail else lines) + "\n"

    # -- lifecycle ------------------------------------------------------------------------------------
    def provision(self, spec: ServingSpec) -> str:
        """Build the environment, start the server, wait until it answers; then it replaces any
        process already serving this deployment (Azure's rolling update). Returns its socket."""
        ddir = self.deployment_dir(spec.key)
        ddir.mkdir(parents=True, exist_ok=True)
        with self.log_path(spec.key).open("a") as log:
            log_line(log, f"provisioning {spec.key}")
            for dep in spec.dropped:
                log_line(log, f"environment policy: dropped conda dependency {dep!r} (pip dependencies only)")
            try:
                env = self.env_cache.ensure(list(spec.requirements), log)
            except EnvBuildError as exc:
                log_line(log, f"environment build failed: {exc}")
                raise ProvisionError(f"Environment image build failed: {exc}") from exc
            argv, cwd, child_env = self._command(spec, env, ddir)
            collector = self._collector(spec, ddir, child_env)
            sock = self._fresh_socket(spec.key)
            child_env["AMLOPS_SERVING_SOCKET"] = str(sock)  # gunicorn.conf.py binds there
            log_line(log, f"starting: {' '.join(argv)}")
            proc = self._spawner.submit(self._spawn, argv, cwd, child_env, log.fileno()).result()
        self._remember_pid(spec.key, proc.pid)
        try:
            self._wait_ready(proc, str(sock), spec.readiness_path)
        except ProvisionError:
            kill_group(proc)
            if collector:
                collector.close()
            self._remember_pid(spec.key, None)
            self.log(spec.key, "serving process failed to start; see its output above")
            raise
        with self._cond:
            old = self._running.get(spec.key)
            self._running[spec.key] = _Running(proc, str(sock), collector)
            self._cond.notify_all()
        if old:
            _end(old)
        self._remember_pid(spec.key, proc.pid)
        self.log(spec.key, f"serving on unix socket {sock}")
        return str(sock)

    @staticmethod
    def _collector(spec: ServingSpec, ddir: Path, child_env: dict[str, str]) -> Receiver | None:
        """Start the deployment's model data collector and point the scoring process at it, with the
        variables a deployment container gets (azureml-ai-monitoring reads them), if it collects."""
        if spec.collection is None:
            return None
        receiver = Receiver(Sink(spec.collection))
        config = ddir / "mdc-config.json"
        config.write_text(json.dumps(spec.collection.mdc_config()))
        child_env.update(AZUREML_MDC_CONFIG_PATH=str(config), AZUREML_MDC_HOST="127.0.0.1", AZUREML_MDC_PORT=str(receiver.port))
        return receiver

    def sink(self, key: str) -> Sink | None:
        """Where the running deployment's collected rows go (the router logs payloads there)."""
        with self._cond:
            running = self._running.get(key)
        return running.collector.sink if running and running.collector else None

    def _fresh_socket(self, key: str) -> Path:
        """A socket path no running server of this deployment uses (a rolling update runs two at once)."""
        base = self.socket_path(key)
        base.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        sock = base.with_name(f"{base.stem}-{secrets.token_hex(3)}.sock")
        sock.unlink(missing_ok=True)
        return sock

    def _command(self, spec: ServingSpec, env: Path, ddir: Path) -> tuple[list[str], Path, dict[str, str]]:
        model_dir = ddir / "azureml-models" / spec.model_name / spec.model_version
        model_dir.mkdir(parents=True, exist_ok=True)
        if spec.model_path is not None:
            _place_model(spec.model_path, model_dir / spec.model_path.name)
        (ddir / "gunicorn.conf.py").write_text(files("amlops.local").joinpath("gunicorn_conf.py.txt").read_text())
        child_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")}
        child_env.update(spec.environment_variables)
        child_env.update(
            {
                "PATH": f"{env / 'bin'}:{child_env.get('PATH', '/usr/bin:/bin')}",
                "VIRTUAL_ENV": str(env),
                "AZUREML_MODEL_DIR": str(model_dir),
                "PYTHONUNBUFFERED": "1",
                _MARKER: str(self.state_dir),
            }
        )
        if spec.serves_flow and spec.model_path is not None:
            flow = model_dir / spec.model_path.name
            argv, variables = promptflow.command(env, flow, ddir / "gunicorn.conf.py", ddir / "promptflow-home")
            return argv, ddir, {**child_env, **variables}
        if spec.mlflow_config is not None:
            script = ddir / "mlflow_score.py"
            script.write_text(files("amlops.local").joinpath("mlflow_score.py.txt").read_text())
            child_env["AMLOPS_MLFLOW_CONFIG"] = json.dumps(spec.mlflow_config)
            child_env["AML_APP_ROOT"] = str(ddir)
        elif spec.code_dir is not None and spec.scoring_script:
            script = spec.code_dir / spec.scoring_script
            child_env["AML_APP_ROOT"] = str(spec.code_dir)
        else:
            raise ProvisionError("The deployment has no scoring script and its model is not an MLflow model.")
        if not script.is_file():
            raise ProvisionError(f"Scoring script {spec.scoring_script!r} not found in the deployment's code.")
        # azmlinfsrv wants a port; gunicorn.conf.py binds the unix socket instead
        return [str(env / "bin" / "azmlinfsrv"), "--entry_script", str(script), "--port", str(_free_port())], ddir, child_env

    @staticmethod
    def _spawn(argv: list[str], cwd: Path, env: dict[str, str], log_fd: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def _wait_ready(self, proc: subprocess.Popen[bytes], sock: str, path: str) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._stopping:
                raise ProvisionError("The control plane is shutting down.")
            code = proc.poll()
            if code is not None:
                raise ProvisionError(
                    f"User container has crashed or terminated: the inference server exited with code {code}"
                    " (a failing init() in the scoring script, for example). See the deployment logs."
                )
            try:
                conn = UnixHTTPConnection(sock, timeout=2)
                conn.request("GET", path)
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise ProvisionError(f"The inference server did not answer within {self.ready_timeout:.0f}s.")

    def socket(self, key: str) -> str | None:
        with self._cond:
            running = self._running.get(key)
        return running.socket if running and running.process.poll() is None else None

    def pid(self, key: str) -> int | None:
        with self._cond:
            running = self._running.get(key)
        return running.process.pid if running and running.process.poll() is None else None

    def wait_socket(self, key: str, timeout: float) -> str | None:
        """The socket once the deployment serves, waiting up to `timeout` (used while restoring)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while key not in self._running and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
        return self.socket(key)

    def stop(self, key: str) -> None:
        with self._cond:
            running = self._running.pop(key, None)
        if running:
            _end(running)
        self._remember_pid(key, None)

    def stop_all(self) -> None:
        self._stopping = True
        with self._cond:
            keys = list(self._running)
        for key in keys:
            self.stop(key)
        if self._short_run_dir is not None:
            shutil.rmtree(self._short_run_dir, ignore_errors=True)
        self._spawner.shutdown(wait=False)

    # -- crash recovery -------------------------------------------------------------------------------
    def _pids_file(self) -> Path:
        return self.state_dir / "serving-pids.json"

    def _remember_pid(self, key: str, pid: int | None) -> None:
        with self._cond:
            path = self._pids_file()
            pids = json.loads(path.read_text()) if path.exists() else {}
            pids.setdefault(key, [])
            if pid is None:
                pids[key] = [p for p in pids[key] if _is_ours(p, self.state_dir)]
            elif pid not in pids[key]:
                pids[key].append(pid)
            pids = {k: v for k, v in pids.items() if v}
            tmp = path.with_name(".serving-pids.json.tmp")
            tmp.write_text(json.dumps(pids))
            tmp.replace(path)


def reap_stale(state_dir: Path) -> int:
    """Kill the process groups a crashed control plane left behind, serving and job ones; returns how many.

    Serving pids are kept in `serving-pids.json`; job processes are found by the marker in their
    environment (PR_SET_PDEATHSIG sends them SIGTERM, but a job may ignore it or be slow to go)."""
    path = state_dir / "serving-pids.json"
    for sock in (state_dir / "run").glob("*.sock"):  # their sockets too
        sock.unlink(missing_ok=True)
    pids = [p for ps in json.loads(path.read_text()).values() for p in ps] if path.exists() else []
    groups = {pid for pid in pids if _is_ours(pid, state_dir)}
    job = f"{JOB_MARKER}={state_dir}".encode()
    groups |= {pgrp for _, pgrp, environ in _live_processes() if job in environ}
    for pgid in groups:
        _kill_pgid(pgid)
    path.unlink(missing_ok=True)
    return len(groups)


def _live_processes() -> Iterator[tuple[int, int, list[bytes]]]:
    """(pid, process group, environment) of each process that is not a zombie."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            state, _, pgrp = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[:3]
            if state != "Z":
                yield int(proc.name), int(pgrp), (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue


def _end(running: _Running) -> None:
    kill_group(running.process)
    Path(running.socket).unlink(missing_ok=True)
    if running.collector:
        running.collector.close()


def _is_ours(pid: int, state_dir: Path) -> bool:
    """Whether pid is a live serving process of this state dir (pids get reused)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"{_MARKER}={state_dir}".encode() in environ


def kill_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM our child's process group, reap the child, SIGKILL whatever the group still holds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _kill_pgid(pgid: int, grace: float = 5.0) -> None:
    """Like kill_group for a group whose leader is not our child (left by a crashed control plane): SIGTERM,
    then SIGKILL, each followed by a wait until no member is left (a killed process takes a moment to go)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not any(pgrp == pgid for _, pgrp, _ in _live_processes()):  # zombies no init reaps count as gone
                return
            time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the control plane dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _place_model(source: Path, target: Path) -> None:
    """Put the model where the scoring script looks, as a real folder, the way Azure downloads it.

    Not a symlink: scoring scripts walk the folder (`os.walk` does not follow links). Files are hard
    links where the file system allows, so a large model is not copied byte by byte.
    """
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    if source.is_dir():
        shutil.copytree(source, target, copy_function=_link_or_copy)
    else:
        _link_or_copy(str(source), str(target))


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
