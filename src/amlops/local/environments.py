"""Python environments for what the control plane runs (served models and jobs): one virtual environment
per spec, built with uv and cached by a hash of the spec.

Policy (Azure builds a conda image; here a venv on the control plane's own Python):
- only the conda file's `pip:` dependencies are installed;
- the `python=` pin and other conda packages are dropped (logged): a venv cannot change Python, and
  conda package names are not pip names;
- the docker image is ignored;
- if the install fails (e.g. a pin that has no wheel for this Python) the build fails with uv's output.
Environments live under `$AMLOPS_ENV_CACHE` (default `~/.cache/amlops/envs/<hash>`), each built under
its own file lock: builds of different specs run in parallel, two builds of one spec never race.
uv installs from the package indexes pip is configured with on this machine (`pip config list`), and
trusts the certificates pip trusts, so a machine behind a mirror or a TLS-inspecting proxy needs no
second configuration.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from ruamel.yaml import YAML

_READY = ".amlops-ready"
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def default_env_cache() -> Path:
    return Path(os.environ.get("AMLOPS_ENV_CACHE") or Path.home() / ".cache" / "amlops" / "envs").expanduser()


def requirements_from_conda(conda_yaml: str | None) -> tuple[list[str], list[str]]:
    """(pip requirements, notes on what the policy dropped) for a conda environment file."""
    if not conda_yaml:
        return [], []
    doc = YAML(typ="safe").load(conda_yaml) or {}
    pip: list[str] = []
    dropped: list[str] = []
    for dep in doc.get("dependencies") or []:
        if isinstance(dep, dict):
            pip.extend(str(r).strip() for r in dep.get("pip") or [] if str(r).strip())
        elif str(dep).split("=")[0].strip() not in ("pip",):
            dropped.append(str(dep))
    return pip, dropped


class EnvBuildError(Exception):
    pass


@functools.cache
def pip_settings(python: str = sys.executable) -> dict[str, str]:
    """pip's effective configuration: its files, then PIP_* variables (`:env:.` entries), which win as
    they do in pip, whatever order `pip config list` prints them in."""
    proc = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False)
    entries = [line.partition("=") for line in proc.stdout.splitlines()]
    settings: dict[str, str] = {}
    for key, _, value in sorted((e for e in entries if e[1]), key=lambda e: e[0].startswith(":env:.")):
        settings[key.rsplit(".", 1)[-1]] = value.strip().strip("'\"")
    return settings


def uv_options(settings: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """pip's index settings as uv command-line options and environment (uv reads no PIP_* variable)."""
    args: list[str] = []
    flags = {
        "index-url": "--index-url",
        "extra-index-url": "--extra-index-url",
        "find-links": "--find-links",
        "constraint": "--constraint",
        "trusted-host": "--allow-insecure-host",
    }
    for key, flag in flags.items():
        for value in settings.get(key, "").split():
            args += [flag, value]
    if settings.get("no-index", "").lower() in ("1", "true", "yes"):
        args.append("--no-index")
    if settings.get("extra-index-url"):  # pip picks the best version across all its indexes; uv must be told to
        args += ["--index-strategy", "unsafe-best-match"]
    env: dict[str, str] = {}
    cert = settings.get("cert") or os.environ.get("REQUESTS_CA_BUNDLE")  # pip's `cert` wins over requests' bundle
    if cert:
        env["SSL_CERT_FILE"] = cert
    if settings.get("default-timeout"):
        env["UV_HTTP_TIMEOUT"] = settings["default-timeout"]
    return args, env


def uv_binary() -> str:
    from uv import find_uv_bin  # PyPI `uv`: the binary ships in its wheel

    return find_uv_bin()


class EnvCache:
    def __init__(self, root: Path | None = None, python: str = sys.executable) -> None:
        self.root = root or default_env_cache()
        self.python = python

    def spec_hash(self, requirements: list[str]) -> str:
        spec = {"python": f"{sys.version_info.major}.{sys.version_info.minor}", "requirements": sorted(requirements)}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]

    def ensure(self, requirements: list[str], log: IO[str]) -> Path:
        """The venv for these requirements, built once (under a lock) and reused ever after."""
        self.root.mkdir(parents=True, exist_ok=True)
        env = self.root / self.spec_hash(requirements)
        if (env / _READY).exists():
            log_line(log, f"environment {env.name}: cached")
            return env
        with (self.root / f"{env.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (env / _READY).exists():
                log_line(log, f"environment {env.name}: built by another process")
                return env
            shutil.rmtree(env, ignore_errors=True)
            log_line(log, f"environment {env.name}: building with uv: {' '.join(requirements) or '(nothing to install)'}")
            started = time.monotonic()
            try:
                self._build(env, requirements, log)
            except EnvBuildError:
                shutil.rmtree(env, ignore_errors=True)
                raise
            (env / _READY).write_text(json.dumps({"requirements": requirements, "builder": "uv"}))
            log_line(log, f"environment {env.name}: built in {time.monotonic() - started:.1f}s")
        return env

    def _build(self, env: Path, requirements: list[str], log: IO[str]) -> None:
        uv = uv_binary()
        args, extra_env = uv_options(pip_settings(self.python))
        _run([uv, "venv", "--quiet", "--python", self.python, str(env)], log, extra_env)
        if requirements:
            # No --compile-bytecode (pip compiles every module): a served model's first start compiles only
            # what it imports, measured faster in total (bench: cold `amlops apply --env local`).
            install = [uv, "pip", "install", "--python", str(env / "bin" / "python"), *args, *requirements]
            _run(install, log, extra_env)


def _run(cmd: list[str], log: IO[str], extra_env: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS and k != "VIRTUAL_ENV"}
    env.update(extra_env, UV_NO_PROGRESS="1")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, check=False)
    log.write(proc.stdout)
    log.flush()
    if proc.returncode:
        tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
        raise EnvBuildError(f"`{Path(cmd[0]).name} {' '.join(cmd[1:3])} ...` failed with exit code {proc.returncode}:\n{tail}")


def log_line(log: IO[str], message: str) -> None:
    log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [amlops-local] {message}\n")
    log.flush()
