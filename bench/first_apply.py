"""Benchmark of the first `amlops apply --env local` on a fresh machine: empty environment cache (and, unless
--warm-uv, an empty uv cache), so both served-model environments are built, concurrently, with uv. Prints
the first apply, each environment's build time (from the deployment logs) and a second apply with nothing
to do.

    .venv/bin/python bench/first_apply.py [--warm-uv]

Uses a throwaway state dir and caches and always stops the control plane it started.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from amlops.local import server

ROOT = Path(__file__).resolve().parents[1]
BUILT = re.compile(r"environment (\w+): built in ([\d.]+)s")


def first_apply_seconds(warm_uv: bool = False) -> float:
    """Seconds of the first apply (rollout_bench.py --first-apply reports it among the targets)."""
    return measure(warm_uv)[0]


def measure(warm_uv: bool) -> tuple[float, list[tuple[str, str]], float]:
    """(first apply, [(environment, build seconds)], second apply), on throwaway caches and state."""
    with tempfile.TemporaryDirectory(prefix="amlops-first-apply-") as tmp:
        base = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AZUREML_")}
        env.update(AMLOPS_ENV_CACHE=str(base / "envs"), AMLOPS_LOCAL_STATE_DIR=str(base / "state"))
        if not warm_uv:
            env["UV_CACHE_DIR"] = str(base / "uv-cache")
        try:
            first = _apply(env)
            second = _apply(env)
        finally:
            server.stop(base / "state")
        builds = [
            m.groups() for log in (base / "state").glob("deployments/**/deployment.log") for m in BUILT.finditer(log.read_text())
        ]
    return first, builds, second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-uv", action="store_true", help="keep uv's own download cache (a machine that built before)")
    args = parser.parse_args()
    first, builds, second = measure(args.warm_uv)
    print(f"{'what':<34} {'seconds':>8}")
    print(f"{'first apply (cold caches)':<34} {first:>8.1f}")
    for name, seconds in builds:
        print(f"{'  environment ' + name[:12]:<34} {float(seconds):>8.1f}")
    print(f"{'second apply (nothing to do)':<34} {second:>8.1f}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _apply(env: dict[str, str]) -> float:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "amlops", "apply", "--env", "local", "--auto-approve", "--repo", str(ROOT)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"apply failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
