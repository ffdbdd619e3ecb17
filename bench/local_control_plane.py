"""Benchmark of the local Azure ML control plane, driven through the real azure-ai-ml SDK.

Prints (1) the control plane's own server-side time per route, from its request log, for a typical
sequence of SDK calls, and (2) the wall time from `begin_create_or_update` of a deployment to the
first successful scoring answer (cold: environment built; warm: environment cached).

    .venv/bin/python bench/local_control_plane.py [--cold]

Uses a throwaway state dir and always stops the server it started.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from azure.ai.ml.constants._endpoint import EndpointInvokeFields
from azure.ai.ml.entities import CodeConfiguration, Environment, ManagedOnlineDeployment, ManagedOnlineEndpoint, Model

from amlops.local import server
from amlops.local.client import LocalAdmin, ml_client
from amlops.local.environments import default_env_cache

SCORE = """
import json, os
def init():
    global factor
    factor = json.load(open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "v1", "weights.json")))["factor"]
def run(raw):
    return [x * factor for x in json.loads(raw)["data"]]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="use an empty environment cache (measures a build)")
    parser.add_argument("--deployments", type=int, default=3, help="deployments to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="amlops-bench-") as tmp:
        base = Path(tmp)
        cache = base / "envs" if args.cold else default_env_cache()
        (base / "model" / "v1").mkdir(parents=True)
        (base / "model" / "v1" / "weights.json").write_text(json.dumps({"factor": 2}))
        (base / "code").mkdir()
        (base / "code" / "score.py").write_text(SCORE)
        (base / "conda.yml").write_text("dependencies:\n- pip\n- pip:\n  - azureml-inference-server-http\n")
        (base / "request.json").write_text(json.dumps({"data": [1, 2, 3]}))
        started = time.perf_counter()
        conn = server.start(base / "state", env_cache=cache)
        startup = time.perf_counter() - started
        try:
            _run(conn, base, args.deployments, startup)
        finally:
            server.stop(base / "state")


def _run(conn, base: Path, deployments: int, startup: float) -> None:
    ml = ml_client(conn)
    admin = LocalAdmin(conn)
    ml.models.create_or_update(Model(name="bench", path=str(base / "model" / "v1"), type="custom_model"))
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="bench")).result()
    ready_times = []
    for i in range(deployments):
        t0 = time.perf_counter()
        ml.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(
                name=f"dep{i}",
                endpoint_name="bench",
                model="azureml:bench:1",
                code_configuration=CodeConfiguration(code=str(base / "code"), scoring_script="score.py"),
                environment=Environment(conda_file=str(base / "conda.yml"), image="ignored:latest"),
                instance_type="Standard_DS3_v2",
                instance_count=1,
            )
        ).result()
        ml.online_endpoints.invoke("bench", request_file=str(base / "request.json"), deployment_name=f"dep{i}")
        ready_times.append(time.perf_counter() - t0)
    # azure-ai-ml 1.35 keeps the last invoke's deployment header in a class-level dict: unpin
    EndpointInvokeFields.DEFAULT_HEADER.pop(EndpointInvokeFields.MODEL_DEPLOYMENT, None)
    endpoint = ml.online_endpoints.get("bench")
    endpoint.traffic = {"dep0": 100}
    ml.online_endpoints.begin_create_or_update(endpoint).result()
    for _ in range(50):
        ml.online_endpoints.invoke("bench", request_file=str(base / "request.json"))
    list(ml.models.list())
    ml.online_deployments.get_logs("dep0", "bench", lines=10)

    snapshot = admin.requests(log=0)
    print(f"control plane start: {startup * 1000:.0f} ms\n")
    print(f"{'kind':<8} {'route':<86} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for r in sorted(snapshot["routes"], key=lambda r: (r["kind"], r["route"])):
        print(f"{r['kind']:<8} {r['route'][:86]:<86} {r['count']:>4} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['max_ms']:>8.2f}")
    print(
        "\nbegin_create_or_update -> first answer (s):",
        ", ".join(f"{t:.2f}" for t in ready_times),
        "(the first may include an environment build)",
    )
    scoring = admin.metrics("bench")["deployments"]["dep0"]["latency_ms"]
    print(f"scoring through the router: p50 {scoring['p50']} ms, p95 {scoring['p95']} ms")


if __name__ == "__main__":
    main()
