"""An evaluation flow as the evaluation gate: run the candidate flow and the live flow over a held-out data
file, each followed by the evaluation flow over its outputs, and give both flows' metrics.

promptflow cannot be installed beside amlops (its pins and the inference server's exclude each other), so
the runs happen in the prompt flow runtime environment the local control plane serves flows from (built
once with uv, cached by its requirements), on copies of the flows in a temporary folder: promptflow writes
into a flow's folder, and a model's folder in the repository must keep its bytes (its release hash).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import IO, Any

from ruamel.yaml import YAML

from amlops.local.environments import EnvBuildError, EnvCache
from amlops.local.promptflow import FLOW_FILE, RUNTIME_REQUIREMENTS, quiet_home

#: A run longer than this is stuck, not slow: the sample's evaluation takes seconds.
TIMEOUT_SECONDS = 600
_KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


class FlowEvaluationError(Exception):
    """The evaluation gave no figures to judge: a flow is missing, a run failed, or some of its lines did."""


@dataclass(frozen=True)
class FlowMetrics:
    """The evaluation flow's metrics (e.g. `accuracy`) for each of the two flows, over the same data."""

    candidate: dict[str, float]
    live: dict[str, float]


def evaluate_flows(
    candidate: Path,
    live: Path,
    data: Path,
    *,
    evaluation: Path,
    column_mapping: Mapping[str, str],
    env_cache: EnvCache | None = None,
    log: IO[str] | None = None,
) -> FlowMetrics:
    """Both flows' metrics from `evaluation` over `data` (JSON lines). Each flow's inputs take the data's
    columns of the same name, as `pf run create` does; `column_mapping` feeds the evaluation flow's inputs
    from `${data.<column>}` or `${run.outputs.<output>}` (the flow's answer on that line)."""
    flows = {"candidate": candidate, "live": live}
    inputs = {label: _flow_inputs(folder) for label, folder in flows.items()}
    _flow_inputs(evaluation)
    if not data.is_file():
        raise FlowEvaluationError(f"{data}: no such data file")
    try:
        runtime = (env_cache or EnvCache()).ensure(list(RUNTIME_REQUIREMENTS), log or io.StringIO())
    except EnvBuildError as exc:
        raise FlowEvaluationError(f"the prompt flow runtime could not be built: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="amlops-flow-eval-") as tmp:
        work = Path(tmp)
        copies = {label: _copy(folder, work / label) for label, folder in flows.items()}
        request = {
            "flows": {label: str(path) for label, path in copies.items()},
            "flow_inputs": inputs,
            "data": str(data.resolve()),
            "evaluation": str(_copy(evaluation, work / "evaluation")),
            "column_mapping": dict(column_mapping),
        }
        report = _run(runtime, request, work)
    failures = [str(f) for result in report.values() for f in result["failures"]]
    if failures:  # figures over fewer lines than the other flow's are no comparison
        raise FlowEvaluationError(f"{len(failures)} failed line(s) of {report['candidate']['lines']}: " + "; ".join(failures))
    return FlowMetrics(_numbers(report["candidate"]["metrics"]), _numbers(report["live"]["metrics"]))


def _flow_inputs(folder: Path) -> list[str]:
    flow_file = folder / FLOW_FILE
    if not flow_file.is_file():
        raise FlowEvaluationError(f"{folder}: not a flow folder (no {FLOW_FILE})")
    doc = YAML(typ="safe").load(flow_file.read_text()) or {}
    return [str(name) for name in doc.get("inputs") or {}]


def _copy(folder: Path, target: Path) -> Path:
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns(".promptflow", "__pycache__"))
    return target


def _run(runtime: Path, request: dict[str, object], work: Path) -> dict[str, dict[str, Any]]:
    driver = work / "evaluate_runs.py"
    driver.write_text(files("amlops.flows").joinpath("evaluate_runs.py.txt").read_text())
    env = {k: v for k, v in os.environ.items() if k in _KEPT_VARIABLES}
    env.update(quiet_home(work / "promptflow-home"), VIRTUAL_ENV=str(runtime), PYTHONUNBUFFERED="1")
    try:
        proc = subprocess.run(
            [str(runtime / "bin" / "python"), str(driver), json.dumps(request)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise FlowEvaluationError(f"the evaluation did not finish within {TIMEOUT_SECONDS}s") from exc
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-10:])
        raise FlowEvaluationError(f"the evaluation runs failed (exit code {proc.returncode}):\n{tail}")
    report: dict[str, dict[str, Any]] = json.loads(lines[-1])
    return report


def _numbers(metrics: object) -> dict[str, float]:
    """The numeric metrics; promptflow logs only numbers, but a flow's own output may be anything."""
    items = metrics.items() if isinstance(metrics, dict) else []
    return {str(k): float(v) for k, v in items if isinstance(v, int | float) and not isinstance(v, bool)}
