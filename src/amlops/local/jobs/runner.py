"""Runs jobs: each step a process (`bash -c <command>`) in its Python environment, the steps of a pipeline in
dependency order with independent steps in parallel, at most `max_nodes` steps at a time per cluster.

Statuses follow Azure's JobStatus (REST spec, api-version 2025-12-01, as shipped in azure-ai-ml's
`_restclient/arm_ml_service/models/_enums.py`): a step goes NotStarted -> Starting -> Preparing (its
environment is built) -> Queued (waiting for a node of its cluster) -> Running -> Finalizing (outputs are
registered) -> Completed, or Failed / Canceled; a cancel goes through CancelRequested. A pipeline is
Running while any step runs and ends Completed, Failed (a step failed: the others are canceled) or
Canceled. Killing a step kills its whole process group.

The runner knows nothing of ARM: the control plane hands it resolved steps and hears back through
`on_status(run_id, status, error)` and `on_finalize(run_id)`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from amlops.local.environments import EnvBuildError, EnvCache, log_line
from amlops.local.serving import JOB_MARKER, die_with_parent, kill_group

TERMINAL = ("Completed", "Failed", "Canceled")


@dataclass(frozen=True)
class Step:
    """One process to run, resolved to local paths."""

    run_id: str
    name: str  # the step's key in its pipeline, or the job's name
    command: str  # after `${{...}}` substitution
    requirements: tuple[str, ...] | None  # None: run on the control plane's own Python
    code_dir: Path | None
    work_dir: Path
    log_path: Path
    output_dirs: tuple[Path, ...] = ()
    cluster: str | None = None  # key of the cluster it runs on; None for serverless
    max_nodes: int = 1
    after: tuple[str, ...] = ()  # run ids of the steps it waits for
    environment_variables: dict[str, str] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    """A job to run: one step (a command job) or a graph of steps (a pipeline job)."""

    scope: str  # whose run it is (the control plane's workspace id), handed back in callbacks
    run_id: str
    steps: tuple[Step, ...]
    pipeline: bool
    log_path: Path  # a pipeline's execution log; a command job's own step log


StatusCallback = Callable[[str, str, str, "dict[str, str] | None"], None]  # scope, run id, status, error


class _Cluster:
    """Nodes of one cluster: a step holds one while it runs."""

    def __init__(self) -> None:
        self.busy = 0
        self.cond = threading.Condition()

    def acquire(self, max_nodes: int, cancelled: threading.Event) -> bool:
        with self.cond:
            while self.busy >= max_nodes:
                if cancelled.is_set():
                    return False
                self.cond.wait(0.2)
            self.busy += 1
            return True

    def release(self) -> None:
        with self.cond:
            self.busy -= 1
            self.cond.notify_all()


class Runner:
    def __init__(
        self,
        env_cache: EnvCache,
        state_dir: Path,
        on_status: StatusCallback,
        on_finalize: Callable[[str, str], None],
    ) -> None:
        self.env_cache, self.state_dir = env_cache, state_dir
        self.on_status, self.on_finalize = on_status, on_finalize
        self._clusters: dict[str, _Cluster] = {}
        self._cancelled: dict[str, threading.Event] = {}
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def submit(self, run: Run) -> None:
        self._cancelled[run.run_id] = threading.Event()
        threading.Thread(target=self._run, args=(run,), name=f"job-{run.run_id[:20]}", daemon=True).start()

    def cancel(self, run_id: str) -> bool:
        """Ask a job to stop; False if it is not running here."""
        event = self._cancelled.get(run_id)
        if event is None:
            return False
        event.set()
        return True

    def stop_all(self) -> None:
        self._stopping = True
        for event in list(self._cancelled.values()):
            event.set()
        with self._lock:
            processes = list(self._processes.values())
        for proc in processes:
            kill_group(proc, grace=2)

    # -- one job --------------------------------------------------------------------------------------
    def _run(self, run: Run) -> None:
        cancelled = self._cancelled[run.run_id]
        status: dict[str, str] = {s.run_id: "NotStarted" for s in run.steps}
        threads: dict[str, threading.Thread] = {}
        failed: Step | None = None
        if run.pipeline:
            self._status(run, run.run_id, "Running")
        while True:
            for step in run.steps:
                ready = all(status[a] == "Completed" for a in step.after)
                if step.run_id not in threads and ready and failed is None and not cancelled.is_set():
                    threads[step.run_id] = threading.Thread(target=self._step, args=(run, step, status, cancelled), daemon=True)
                    threads[step.run_id].start()
            alive = [t for t in threads.values() if t.is_alive()]
            failed = failed or next((s for s in run.steps if status[s.run_id] == "Failed"), None)
            if failed is not None:
                cancelled.set()
            if not alive and (cancelled.is_set() or len(threads) == len(run.steps)):
                break
            for t in alive:
                t.join(0.1)
                break
        for step in run.steps:
            if status[step.run_id] not in TERMINAL:
                status[step.run_id] = "Canceled"
                self._status(run, step.run_id, "Canceled")
        if run.pipeline:
            self._finish_pipeline(run, status, failed)
        self._cancelled.pop(run.run_id, None)

    def _finish_pipeline(self, run: Run, status: dict[str, str], failed: Step | None) -> None:
        if failed is not None:
            tail = _tail(failed.log_path)
            error = {
                "code": "UserError",
                "message": f"Pipeline step '{failed.name}' (job {failed.run_id}) failed. Its log ends:\n{tail}",
            }
            self._status(run, run.run_id, "Failed", error)
        elif any(s == "Canceled" for s in status.values()):
            self._status(run, run.run_id, "Canceled")
        else:
            self._status(run, run.run_id, "Finalizing")
            self._status(run, run.run_id, *self._finalize(run, run.run_id))

    def _step(self, run: Run, step: Step, status: dict[str, str], cancelled: threading.Event) -> None:
        def set_status(value: str, error: dict[str, str] | None = None) -> None:
            status[step.run_id] = value
            self._status(run, step.run_id, value, error)

        step.log_path.parent.mkdir(parents=True, exist_ok=True)
        with step.log_path.open("a") as log:
            set_status("Starting")
            set_status("Preparing")
            for dep in step.dropped:
                log_line(log, f"environment policy: dropped conda dependency {dep!r} (pip dependencies only)")
            try:
                bin_dir = self._environment(step, log)
            except EnvBuildError as exc:
                log_line(log, f"environment build failed: {exc}")
                set_status("Failed", {"code": "UserError", "message": f"Environment build failed: {exc}"})
                return
            set_status("Queued")
            cluster = self._clusters.setdefault(step.cluster, _Cluster()) if step.cluster else None
            if cluster is not None and not cluster.acquire(step.max_nodes, cancelled):
                set_status("Canceled")
                return
            try:
                code = self._execute(step, bin_dir, log, cancelled, set_status)
            finally:
                if cluster is not None:
                    cluster.release()
            if cancelled.is_set() and code != 0:
                set_status("Canceled")
            elif code != 0:
                message = f"Execution failed: the command exited with code {code}. Its log ends:\n{_tail(step.log_path)}"
                set_status("Failed", {"code": "UserError", "message": message})
            else:
                set_status("Finalizing")
                set_status(*self._finalize(run, step.run_id))

    def _finalize(self, run: Run, run_id: str) -> tuple[str, dict[str, str] | None]:
        """Register the outputs: (Completed, None), or (Failed, why)."""
        try:
            self.on_finalize(run.scope, run_id)
        except Exception as exc:  # registering outputs failed: the job fails with why
            return "Failed", {"code": "UserError", "message": f"Registering outputs failed: {exc}"}
        return "Completed", None

    def _environment(self, step: Step, log: IO[str]) -> Path:
        if step.requirements is None:
            log_line(log, "environment: the control plane's own Python (the job's environment has no conda file)")
            return Path(sys.executable).parent
        return self.env_cache.ensure(list(step.requirements), log) / "bin"

    def _execute(
        self, step: Step, bin_dir: Path, log: IO[str], cancelled: threading.Event, set_status: Callable[[str], None]
    ) -> int:
        shutil.rmtree(step.work_dir, ignore_errors=True)
        if step.code_dir is not None:
            shutil.copytree(step.code_dir, step.work_dir)  # a snapshot, as Azure runs a copy of the code
        step.work_dir.mkdir(parents=True, exist_ok=True)
        for out in step.output_dirs:
            out.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SSL_CERT_FILE")}
        env.update(step.environment_variables)
        env.update(
            PATH=f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            PYTHONUNBUFFERED="1",
            AZUREML_RUN_ID=step.run_id,
            MLFLOW_TRACKING_URI=(step.work_dir.parent / "mlruns").as_uri(),  # Azure's tracking server is not here
        )
        env[JOB_MARKER] = str(self.state_dir)
        if bin_dir != Path(sys.executable).parent:
            env["VIRTUAL_ENV"] = str(bin_dir.parent)
        log_line(log, f"running: {step.command}")
        with self._lock:
            if cancelled.is_set():
                return -15
            proc = subprocess.Popen(
                ["bash", "-c", step.command],
                cwd=step.work_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log.fileno(),
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
            self._processes[step.run_id] = proc
        set_status("Running")
        try:
            while proc.poll() is None:
                if cancelled.wait(0.1):
                    log_line(log, "canceled: stopping the process tree")
                    kill_group(proc, grace=5)
        finally:
            with self._lock:
                self._processes.pop(step.run_id, None)
        log_line(log, f"exit code {proc.returncode}")
        return proc.returncode

    def _status(self, run: Run, run_id: str, status: str, error: dict[str, str] | None = None) -> None:
        if run.pipeline:
            run.log_path.parent.mkdir(parents=True, exist_ok=True)
            with run.log_path.open("a") as log:
                name = next((s.name for s in run.steps if s.run_id == run_id), "pipeline")
                log_line(log, f"{name} ({run_id}): {status}" + (f": {error['message']}" if error else ""))
        if not self._stopping:  # a stopping control plane records why itself (Jobs.stop_jobs)
            self.on_status(run.scope, run_id, status, error)


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
