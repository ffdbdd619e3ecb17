"""amlops against the sequential way, on the local control plane, through the real SDK; and the CLI's own times.

Usage: .venv/bin/python bench/rollout_bench.py [--sizes 1,10,50] [--sequential-sizes 1,10] [--plan-sizes 500]
                                               [--validate-size 1000] [--delay 2] [--json]
                                               [--first-apply] [--suite]

For each size N (copies of the sample churn endpoint, `churn-000`...), on a fresh control plane each:
- `apply`: amlops's fresh apply of N endpoints (parallel rollouts, each smoke-tested; a fresh endpoint
  has no live deployment to protect, so no steps), with the settings `amlops apply` uses;
- `sequential` (for --sequential-sizes; 50 endpoints take about ten minutes): the way Microsoft's MLOps accelerator (mlops-v2) deploys, one endpoint after another:
  create the endpoint, create the deployment and wait for it, move all traffic to it (the SDK calls
  behind `az ml online-endpoint create`, `online-deployment create`, `online-endpoint update --traffic`);
- `noop plan`: amlops's plan once the apply is done: wall time, ARM reads and writes (should be 0).
The ratio is sequential / apply. For the larger `--plan-sizes` the machine cannot serve that many models,
so each endpoint is created live through the SDK with its deployment failed on purpose (a fault of the
control plane): the plan reads exactly what it reads for served ones, and must still write nothing.
Then, as the CLI a user runs (a fresh process; the faster of a few runs): `amlops --help`, `amlops validate`
of the sample repository and of `--validate-size` endpoints (a first run, and a run with nothing
changed since, answered from the verdict the first kept), a re-apply with nothing to do (the
re-apply column); requests failed under steady load during a blue/green rollout; with --first-apply,
the first `amlops apply --env local` after install (bench/first_apply.py: empty environment and uv
caches); with --suite, the test suite as the README runs it. Last, a table of every target of issue 16,
what this run measured and whether it holds.
With --json, one JSON object on stdout (the tables go to stderr), with `targets` as that last table.

Targets on a 2-core machine: amlops at least 5 times faster than the sequential way for 10 endpoints;
a no-op plan of 50 endpoints in 0.5 s or less and of 500 in 3 s or less, with reads proportional to
the endpoints and no writes; `amlops --help` in 0.3 s, `amlops validate` of the sample repository in 1 s
and of 1,000 endpoints in 3 s; a re-apply with nothing to do in 1.5 s; the first local apply after
install in 25 s; the test suite in 3 minutes; no request failed under load. Exit status 1 when a
request failed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from first_apply import first_apply_seconds  # bench/, beside this script

from amlops.cli.common import quiet_sdk
from amlops.local import server
from amlops.local.client import LocalAdmin, ml_client
from amlops.local.environments import default_env_cache
from amlops.manifests import cache
from amlops.rollout.apply import apply
from amlops.rollout.events import ignore
from amlops.rollout.session import open_session
from amlops.workspace.traffic import SyntheticLoad

ROOT = Path(__file__).resolve().parents[1]
STRATEGY = "strategy:\n  steps: [{mirror: 20}, {weight: 50}, {weight: 100}]\n  gate: {max_error_rate: 0.01, max_latency_p95_ms: 2000, min_requests: 20}\n"


def name(i: int) -> str:
    return f"churn-{i:03d}"


def make_repo(folder: Path, count: int, version: str = "1") -> Path:
    """`count` copies of the sample churn endpoint in a `local` environment, committed."""
    root = folder / "repo"
    if not root.exists():
        shutil.copytree(ROOT / "models", root / "models")
        for i in range(count):
            target = root / "endpoints" / name(i)
            shutil.copytree(ROOT / "endpoints" / "churn", target)
            endpoint = target / "endpoint.yml"
            endpoint.write_text(endpoint.read_text().replace("name: churn", f"name: {name(i)}"))
        (root / "environments").mkdir()
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    endpoints = "".join(
        f"  {name(i)}:\n    deployments:\n      main:\n        model: churn:{version}\n        instance_type: Standard_DS3_v2\n"
        for i in range(count)
    )
    (root / "environments" / "local.yaml").write_text(f"name: local\nplatform: local\n{STRATEGY}endpoints:\n{endpoints}")
    return root


def bump(root: Path) -> None:
    """churn:2, a single-file model with other weights, served by every endpoint."""
    weights = json.loads((root / "models/churn/v1/weights.json").read_text())
    weights["intercept"] += 0.1
    (root / "models/churn/v2").mkdir()
    (root / "models/churn/v2/weights.json").write_text(json.dumps(weights))
    spec = (root / "models/churn/v1.yml").read_text().replace('version: "1"', 'version: "2"').replace("path: v1", "path: v2")
    (root / "models/churn/v2.yml").write_text(spec)
    (root / "environments/local.yaml").write_text((root / "environments/local.yaml").read_text().replace("churn:1", "churn:2"))


@contextlib.contextmanager
def plane(delay: float) -> Iterator[tuple[Path, LocalAdmin]]:
    """A fresh control plane in a throwaway folder (the served-model environments' cache is the shared one)."""
    with tempfile.TemporaryDirectory(prefix="amlops-bench-") as folder:
        state = Path(folder) / "state"
        admin = LocalAdmin(server.start(state, provisioning_delay=delay, env_cache=default_env_cache()))
        try:
            yield Path(folder), admin
        finally:
            server.stop(state)


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the SDK prints polling dots
        action()
    return time.perf_counter() - started


def amlops_apply(root: Path, state: Path) -> float:
    session = open_session(root, "local", state)

    def run() -> None:
        result = apply(session.context(ignore), session.plan())
        if not result.ok:
            raise SystemExit(f"apply failed: {result.failures}")

    return timed(run)


def sequential_apply(root: Path, state: Path, count: int) -> float:
    """The accelerator's way: per endpoint, in turn, create it, create its deployment and wait, move traffic."""
    from azure.ai.ml import load_model, load_online_deployment, load_online_endpoint

    client = ml_client(state, "local")

    def run() -> None:
        client.models.create_or_update(load_model(root / "models/churn/v1.yml"))
        for i in range(count):
            folder = root / "endpoints" / name(i)
            endpoint = load_online_endpoint(folder / "endpoint.yml")
            client.online_endpoints.begin_create_or_update(endpoint).result()
            deployment = load_online_deployment(folder / "main.yml", params_override=[{"endpoint_name": name(i)}])
            client.online_deployments.begin_create_or_update(deployment).result()
            endpoint.traffic = {"main": 100}
            client.online_endpoints.begin_create_or_update(endpoint).result()

    return timed(run)


def noop_plan(root: Path, state: Path, admin: LocalAdmin, expect_noop: bool = True) -> tuple[float, int, int]:
    """(seconds, ARM reads, ARM writes) of a plan on an open session: the workspace observed and compared."""
    session = open_session(root, "local", state)
    admin.reset_requests()
    started = time.perf_counter()
    plan = session.plan()
    seconds = time.perf_counter() - started
    counters = admin.requests(log=0)
    if expect_noop and plan.changed:
        raise SystemExit("the plan after a fresh apply is not a no-op")
    return seconds, counters["reads"], counters["writes"]


def live_without_serving(root: Path, state: Path, admin: LocalAdmin, count: int) -> None:
    """`count` live endpoints of the environment, each with its deployment, failed by the control plane, not served."""
    from azure.ai.ml import load_model, load_online_deployment, load_online_endpoint

    client = ml_client(state, "local")
    admin.add_faults(fail_next_deployments=count)

    def create(i: int) -> None:
        folder = root / "endpoints" / name(i)
        endpoint = load_online_endpoint(folder / "endpoint.yml")
        endpoint.tags = {"amlops.environment": "local"}
        client.online_endpoints.begin_create_or_update(endpoint).result()
        deployment = load_online_deployment(folder / "main.yml", params_override=[{"endpoint_name": name(i)}])
        with contextlib.suppress(Exception):  # failed on purpose
            client.online_deployments.begin_create_or_update(deployment).result()

    with contextlib.redirect_stdout(io.StringIO()):
        client.models.create_or_update(load_model(root / "models/churn/v1.yml"))
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(create, range(count)))


def cli(*args: str, env: dict[str, str] | None = None) -> float:
    """Wall time of `amlops ARGS` as a user runs it: a fresh process."""
    # An in-process MLClient records its cloud in os.environ (AZUREML_CURRENT_CLOUD); a child would not find it.
    shell = {k: v for k, v in (env or os.environ).items() if not k.startswith("AZUREML_")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "amlops", *args], capture_output=True, text=True, env=shell)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"amlops {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return seconds


def failed_under_load(delay: float) -> tuple[int, int, float]:
    """(requests sent, failed, rollout seconds) while one endpoint rolls out churn:2 under load."""
    with plane(delay) as (folder, _):
        state = folder / "state"
        root = make_repo(folder, 1)
        amlops_apply(root, state)
        client = open_session(root, "local", state).workspace.client  # type: ignore[attr-defined]
        endpoint = client.online_endpoints.get(name(0))
        key = client.online_endpoints.get_keys(name(0)).primary_key
        body = (root / f"endpoints/{name(0)}/sample-request.json").read_bytes()
        bump(root)
        with SyntheticLoad(str(endpoint.scoring_uri), key, body, workers=2, interval=0.01) as load:
            seconds = amlops_apply(root, state)
        return load.sent, load.failed, seconds


def compare(count: int, delay: float, sequential: bool) -> dict[str, float | int | None]:
    """amlops's apply, its no-op plan and (if asked) the sequential way, for `count` endpoints, each on a fresh plane."""
    with plane(delay) as (folder, admin):
        state, root = folder / "state", make_repo(folder, count)
        applied = amlops_apply(root, state)
        planned, reads, writes = noop_plan(root, state, admin)
        env = os.environ | {"AMLOPS_LOCAL_STATE_DIR": str(state)}
        reapply = min(cli("apply", "--env", "local", "--auto-approve", "--repo", str(root), env=env) for _ in range(2))
    seconds = None
    if sequential:
        with plane(delay) as (folder, _):
            seconds = sequential_apply(make_repo(folder, count), folder / "state", count)
    return {
        "apply_s": applied,
        "sequential_s": seconds,
        "plan_s": planned,
        "reads": reads,
        "writes": writes,
        "reapply_s": reapply,
    }


def plan_only(count: int) -> dict[str, float | int]:
    with plane(0) as (folder, admin):
        state, root = folder / "state", make_repo(folder, count)
        live_without_serving(root, state, admin, count)
        planned, reads, writes = noop_plan(root, state, admin, expect_noop=False)
    return {"plan_s": planned, "reads": reads, "writes": writes}


def validate_seconds(count: int | None) -> tuple[float, float]:
    """(first run, unchanged since the last run) seconds of `amlops validate` of `count` endpoints (None: the
    sample repository itself), as a user runs it, on a cache of its own: the first validates (`--no-cache`,
    the faster of two runs, so a fresh checkout's byte-compiling is not counted), the second is answered
    from the verdict the first kept."""
    with tempfile.TemporaryDirectory(prefix="amlops-bench-") as folder:
        root = ROOT if count is None else make_repo(Path(folder), count)
        env = os.environ | {"AMLOPS_VALIDATE_CACHE": str(Path(folder) / "validate-cache")}
        first = min(cli("validate", "--no-cache", "--repo", str(root), env=env) for _ in range(2))
        time.sleep(cache.SETTLE_SECONDS)  # files written just now are not trusted to their timestamps
        cli("validate", "--repo", str(root), env=env)  # keeps the verdict
        return first, min(cli("validate", "--repo", str(root), env=env) for _ in range(3))


def suite_seconds() -> float:
    """Wall time of the test suite as the README runs it (`pytest -q -n 4`), from this checkout."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "4", "-p", "no:cacheprovider"], cwd=ROOT, check=False)
    if done.returncode:
        raise SystemExit(f"the test suite failed (exit {done.returncode})")
    return time.perf_counter() - started


#: (label, report key, endpoint count or None, limit, True when the measure must be at most the limit)
TARGETS: tuple[tuple[str, str, str | None, float, bool], ...] = (
    ("no-op plan, 50 endpoints, s", "noop_plan_s", "50", 0.5, True),
    ("no-op plan, 500 endpoints, s", "noop_plan_s", "500", 3.0, True),
    ("no-op plan writes, 50 endpoints", "noop_plan_writes", "50", 0, True),
    ("no-op plan writes, 500 endpoints", "noop_plan_writes", "500", 0, True),
    ("sequential / amlops, 10 endpoints", "ratio", "10", 5.0, False),
    ("amlops --help, s", "help_s", None, 0.3, True),
    ("amlops validate, the sample, unchanged, s", "validate_sample_s", None, 1.0, True),
    ("amlops validate, the sample, first run, s", "validate_sample_first_s", None, 1.0, True),
    ("amlops validate, 1000 endpoints, unchanged, s", "validate_s", "1000", 3.0, True),
    ("amlops validate, 1000 endpoints, first run, s", "validate_first_s", "1000", 3.0, True),
    ("re-apply with nothing to do, 1 endpoint, s", "reapply_s", "1", 1.5, True),
    ("first apply after install, s", "first_apply_s", None, 25.0, True),
    ("test suite, pytest -n 4, s", "suite_s", None, 180.0, True),
    ("failed requests under load", "failed_requests", None, 0, True),
)


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 16 with what this run measured (None: not measured in this run) and whether it holds."""
    rows = []
    for label, key, size, limit, at_most in TARGETS:
        value = report.get(key)
        if size is not None:
            value = value.get(size) if isinstance(value, dict) else None
        holds = None if value is None else (value <= limit if at_most else value >= limit)
        rows.append({"target": label, "measured": value, "limit": f"{'<=' if at_most else '>='} {limit:g}", "holds": holds})
    return rows


def _cell(value: float | int | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.2f}"


def main() -> None:
    quiet_sdk()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50", help="endpoint counts for apply, sequential and no-op plan")
    parser.add_argument(
        "--sequential-sizes", default="1,10", help="of --sizes, those to deploy the sequential way too (50 takes 10 minutes)"
    )
    parser.add_argument("--plan-sizes", default="500", help="endpoint counts for the plan alone (live, not served)")
    parser.add_argument("--validate-size", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=2.0, help="provisioning delay of the control plane, seconds")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    parser.add_argument("--first-apply", action="store_true", help="also the first apply after install (cold caches, a minute)")
    parser.add_argument("--suite", action="store_true", help="also the test suite's wall time (pytest -n 4, minutes)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    plan_sizes = [int(s) for s in args.plan_sizes.split(",") if s]
    sequential_sizes = {int(s) for s in args.sequential_sizes.split(",") if s}
    say = functools.partial(print, file=sys.stderr if args.json else sys.stdout)
    report: dict[str, Any] = {"delay_s": args.delay, "load_average": os.getloadavg()[0]}
    for key in ("apply_s", "sequential_s", "ratio", "noop_plan_s", "noop_plan_reads", "noop_plan_writes", "reapply_s"):
        report[key] = {}
    say(f"provisioning delay {args.delay:.1f} s, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    say(
        f"{'endpoints':>9} {'amlops s':>9} {'sequential s':>12} {'ratio':>6} {'no-op plan s':>12} {'reads':>6} {'writes':>6} {'re-apply s':>10}"
    )
    for count in sizes:
        r = compare(count, args.delay, count in sequential_sizes)
        key, applied, sequential = str(count), float(r["apply_s"] or 0), r["sequential_s"]
        report["apply_s"][key] = applied
        if sequential is not None:
            report["sequential_s"][key], report["ratio"][key] = sequential, sequential / applied
        report["noop_plan_s"][key], report["noop_plan_reads"][key], report["noop_plan_writes"][key] = (
            r["plan_s"],
            r["reads"],
            r["writes"],
        )
        report["reapply_s"][key] = r["reapply_s"]
        say(
            f"{count:>9} {applied:>9.2f} {_cell(sequential, 12)} {_cell(report['ratio'].get(key), 6)}"
            f" {r['plan_s']:>12.2f} {r['reads']:>6} {r['writes']:>6} {r['reapply_s']:>10.2f}",
            flush=True,
        )
    for count in plan_sizes:
        r = plan_only(count)
        key = str(count)
        report["noop_plan_s"][key], report["noop_plan_reads"][key], report["noop_plan_writes"][key] = (
            r["plan_s"],
            r["reads"],
            r["writes"],
        )
        say(
            f"{count:>9} {'-':>9} {'-':>12} {'-':>6} {r['plan_s']:>12.2f} {r['reads']:>6} {r['writes']:>6} {'-':>10}  (live, not served)"
        )
    report["help_s"] = min(cli("--help") for _ in range(3))
    say(f"amlops --help {report['help_s']:.2f} s")
    sample_first, sample = validate_seconds(None)
    many_first, many = validate_seconds(args.validate_size)
    size = str(args.validate_size)
    report.update(validate_sample_first_s=sample_first, validate_sample_s=sample)
    report.update(validate_first_s={size: many_first}, validate_s={size: many})
    say(f"amlops validate, the sample repository: {sample_first:.2f} s, unchanged since the last run {sample:.2f} s")
    say(f"amlops validate, {size} endpoints: {many_first:.2f} s, unchanged since the last run {many:.2f} s")
    sent, failed, seconds = failed_under_load(args.delay)
    report["failed_requests"], report["requests_under_load"] = failed, sent
    say(f"blue/green rollout under steady load: {sent} requests, {failed} failed, rollout {seconds:.1f} s")
    report["first_apply_s"] = first_apply_seconds() if args.first_apply else None
    if args.first_apply:
        say(f"first apply after install (empty environment and uv caches): {report['first_apply_s']:.1f} s")
    report["suite_s"] = suite_seconds() if args.suite else None
    if args.suite:
        say(f"test suite, pytest -q -n 4: {report['suite_s']:.0f} s")
    report["targets"] = targets(report)
    say(f"{'target':<44} {'measured':>9} {'limit':>8}  holds")
    for row in report["targets"]:
        measured, holds = row["measured"], row["holds"]
        shown = "-" if measured is None else f"{measured:.2f}"
        say(f"{row['target']:<44} {shown:>9} {row['limit']:>8}  {'-' if holds is None else ('yes' if holds else 'NO')}")
    if args.json:
        print(json.dumps(report, indent=2))
    sys.exit(0 if failed == 0 else 1)


if __name__ == "__main__":
    main()
