"""The evaluation flow as the gate's comparison component (components/ticket_triage_compare), its script run as
the job runs it: in its Azure ML environment (promptflow-runtime), built by uv from that environment's conda file.

Both flows' metrics in `metrics.json`, the flow folders (the job's model inputs) and the home folder left as they
were (promptflow's home is the job's own, telemetry and tracing off); no figures, and a failed job saying why,
when an input is not what it should be or some lines fail. And what keeps the job like the flow deployments: the
same pinned runtime, the same quiet settings.
"""

from __future__ import annotations

import io
import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from flow_support import BETTER, edited_flow
from plane_support import SAMPLE

from amlops.local.environments import EnvCache, requirements_from_conda
from amlops.local.promptflow import PF_SETTINGS, QUIET, RUNTIME_REQUIREMENTS

SCRIPT = SAMPLE / "components" / "ticket_triage_compare" / "src" / "compare.py"
CONDA = SAMPLE / "assets" / "environments" / "promptflow-runtime" / "conda.yaml"
LIVE = SAMPLE / "models" / "ticket-triage" / "v1"
DATA = SAMPLE / "assets" / "data" / "ticket-holdout"


def compare(python: str, candidate: Path, data: Path, work: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The component's command, in a working folder and with a home of its own (the job's HOME is the plane's)."""
    metrics, home = work / "metrics", work / "home"
    home.mkdir(parents=True, exist_ok=True)
    args = ["--candidate", str(candidate), "--live", str(LIVE), "--data", str(data), "--metrics", str(metrics)]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    proc = subprocess.run([python, str(SCRIPT), *args], cwd=work, env=env, capture_output=True, text=True, check=False)
    return proc, metrics


@pytest.fixture(scope="module")
def runtime() -> str:
    """The Python of the component's environment, as the local job runner builds it."""
    requirements, _ = requirements_from_conda(CONDA.read_text())
    return str(EnvCache().ensure(requirements, io.StringIO()) / "bin" / "python")


def test_the_job_runs_on_the_runtime_the_flow_deployments_serve_from():
    """One pin for both (and so one built environment on `local`): bump RUNTIME_REQUIREMENTS, bump the conda file."""
    assert sorted(requirements_from_conda(CONDA.read_text())[0]) == sorted(RUNTIME_REQUIREMENTS)


def test_the_job_is_as_quiet_as_the_flow_deployments():
    """The script cannot import amlops (it runs in the runtime environment), so it keeps its own copy."""
    script = runpy.run_path(str(SCRIPT), run_name="compare")
    assert (script["PF_SETTINGS"], script["QUIET"]) == (PF_SETTINGS, QUIET)


@pytest.mark.parametrize(
    ("candidate", "data", "expected"),
    [
        ("empty", DATA, r"the candidate model \(.*empty\) is not a flow folder: no flow.dag.yaml"),
        (LIVE, "empty", r"the data \(.*empty\) has no JSON lines file \(\*.jsonl\)"),
    ],
)
def test_what_is_not_a_flow_or_its_data_is_refused_before_promptflow_runs(tmp_path: Path, candidate, data, expected):
    (tmp_path / "empty").mkdir()
    resolved = [tmp_path / "empty" if value == "empty" else value for value in (candidate, data)]
    proc, metrics = compare(sys.executable, resolved[0], resolved[1], tmp_path)  # no promptflow here: never imported
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("no figures: ")
    assert re.search(expected, proc.stderr), proc.stderr
    assert not metrics.exists()


@pytest.mark.slow
def test_both_flows_get_their_figures_and_nothing_outside_the_job_is_written(runtime: str, tmp_path: Path):
    candidate = edited_flow(LIVE, tmp_path / "candidate", BETTER)
    before = files(LIVE), files(candidate)
    proc, metrics = compare(runtime, candidate, DATA, tmp_path / "work")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((metrics / "metrics.json").read_text())
    assert report == {"candidate": {"accuracy": 1.0}, "live": {"accuracy": 0.875}, "lines": 8}
    assert (files(LIVE), files(candidate)) == before  # promptflow wrote only into copies: no run records, no caches
    assert files(tmp_path / "work" / "home") == {}  # its home was the job's own, gone with it: no ~/.promptflow


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_a_flow_that_fails_on_some_lines_gives_no_figures(runtime: str, tmp_path: Path):
    raising = '    if "refund" in text:\n        raise ValueError(text)\n    lowered = text.lower()'
    broken = edited_flow(LIVE, tmp_path / "broken", ("    lowered = text.lower()", raising))
    proc, metrics = compare(runtime, broken, DATA, tmp_path / "work")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("no figures: 1 failed line(s) of 8: the candidate flow, line 8: "), last
    assert "ValueError" in last and "refund" in last
    assert not metrics.exists()
