"""Run a candidate and the live ticket-triage flow over the held-out tickets, then the evaluation flow beside
this script over each one's answers; write both flows' metrics as `metrics.json`.

What `pf run create --flow F --data D`, then `pf run create --flow EVAL --run <that run> --column-mapping ...`
do, with promptflow's own executor, in this one process: a batch run's worker processes would each import
promptflow again (tens of seconds on a small machine). A failed line gives no figures (figures over fewer
lines than the other flow's are no comparison): the job fails, saying which lines.

Runs in the Azure ML environment `promptflow-runtime`. Its own settings come first, before promptflow is
imported: an Azure ML component cannot declare environment variables (azure-ai-ml's CommandComponentSchema
excludes them, "component doesn't have environment variables") and an environment asset has none, so this
script gives itself a promptflow home with telemetry and the trace service off, and the variables that keep
promptflow's Azure Monitor exporter off the network (the same ones the local control plane serves flows
with: amlops.local.promptflow.PF_SETTINGS and QUIET, which a test keeps equal).
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

FLOW_FILE = "flow.dag.yaml"
EVALUATION = Path(__file__).resolve().parent / "ticket-triage-eval"
#: The evaluation flow's inputs: the flow's answer on each line, and that line's label.
COLUMN_MAPPING = {"category": "${run.outputs.category}", "label": "${data.label}"}
PF_SETTINGS = "telemetry:\n  enabled: false\ntrace:\n  destination: none\n"
QUIET = {"APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true", "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true"}
_REFERENCE = re.compile(r"^\$\{(data|run\.outputs)\.([^}]+)\}$")


class Refused(Exception):
    """The comparison cannot give figures: an input is not what it should be, or some lines failed."""


def flow_inputs(folder: Path, what: str) -> list[str]:
    """The flow's input names; a flow's inputs take the data's columns of the same name, as `pf run` does."""
    flow_file = folder / FLOW_FILE
    if not flow_file.is_file():
        raise Refused(f"the {what} ({folder}) is not a flow folder: no {FLOW_FILE}")
    return [str(name) for name in (YAML(typ="safe").load(flow_file.read_text()) or {}).get("inputs") or {}]


def rows(data: Path) -> list[dict]:
    files = sorted(data.glob("*.jsonl")) if data.is_dir() else []
    if not files:
        raise Refused(f"the data ({data}) has no JSON lines file (*.jsonl)")
    return [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]


def quiet(home: Path) -> None:
    """A promptflow home at `home` with telemetry and tracing off, and no settings fetched from the internet."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "pf.yaml").write_text(PF_SETTINGS)
    os.environ.update(QUIET, PF_HOME_DIRECTORY=str(home))


def mapped(row: dict, outputs: dict) -> dict:
    """One line's inputs of the evaluation flow: `${data.<column>}`, `${run.outputs.<output>}` or a literal."""
    values = {}
    for name, reference in COLUMN_MAPPING.items():
        match = _REFERENCE.match(reference)
        source = None if match is None else (row if match[1] == "data" else outputs)
        values[name] = reference if source is None else source.get(match[2])
    return values


def run(flow: Path, lines: list[dict], what: str) -> tuple[list, dict, list[str]]:
    """Each line through the flow, then its aggregation nodes over the lines that completed, as a batch run
    does: (outputs per line, None for a failed one; metrics; failures)."""
    from promptflow.contracts.run_info import Status
    from promptflow.executor import FlowExecutor

    executor = FlowExecutor.create(flow / FLOW_FILE, {}, working_dir=flow, raise_ex=False)
    results = [executor.exec_line(inputs, index=i) for i, inputs in enumerate(lines)]
    failures = [
        f"{what} line {i + 1}: {(r.run_info.error or {}).get('message', r.run_info.status)}"
        for i, r in enumerate(results)
        if r.run_info.status != Status.Completed
    ]
    done = [(inputs, r) for inputs, r in zip(lines, results, strict=True) if r.run_info.status == Status.Completed]
    metrics = {}
    if done and executor.has_aggregation_node:
        names = {n for _, r in done for n in r.aggregation_inputs}
        aggregation = executor.exec_aggregation(
            {k: [inputs.get(k) for inputs, _ in done] for k in done[0][0]},
            {n: [r.aggregation_inputs.get(n) for _, r in done] for n in names},
        )
        metrics = aggregation.metrics
    return [r.output if r.run_info.status == Status.Completed else None for r in results], metrics, failures


def numbers(metrics: dict) -> dict[str, float]:
    """The numeric metrics; promptflow logs only numbers, but a flow's own output may be anything."""
    return {str(k): float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def compare(flows: dict[str, Path], data: Path, work: Path) -> dict:
    """Both flows' metrics from the evaluation flow, over the same lines of `data`. The flows run from copies in
    `work`: promptflow writes into a flow's folder, and a job's model inputs are read-only mounts in Azure."""
    inputs = {label: flow_inputs(folder, f"{label} model") for label, folder in flows.items()}
    flow_inputs(EVALUATION, "evaluation flow")
    lines = rows(data)
    quiet(work / "promptflow-home")
    ignore = shutil.ignore_patterns(".promptflow", "__pycache__")
    evaluation = Path(shutil.copytree(EVALUATION, work / "evaluation", ignore=ignore))
    report, failures = {"lines": len(lines)}, []
    for label, folder in flows.items():
        copy = Path(shutil.copytree(folder, work / label, ignore=ignore))
        answers, _, failed = run(copy, [{k: v for k, v in r.items() if k in inputs[label]} for r in lines], f"the {label} flow,")
        answered = [mapped(r, out) for r, out in zip(lines, answers, strict=True) if out is not None]
        _, metrics, failed_evaluation = run(evaluation, answered, f"the evaluation of the {label} flow,")
        failures += failed + failed_evaluation
        report[label] = numbers(metrics)
    if failures:
        raise Refused(f"{len(failures)} failed line(s) of {len(lines)}: " + "; ".join(failures))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("candidate", "live", "data", "metrics"):
        parser.add_argument(f"--{name}", required=True, type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ticket-triage-compare-") as tmp:
        try:
            report = compare({"candidate": args.candidate, "live": args.live}, args.data, Path(tmp))
        except Refused as exc:
            sys.exit(f"no figures: {exc}")
    args.metrics.mkdir(parents=True, exist_ok=True)
    (args.metrics / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"candidate {report['candidate']}, live {report['live']} on {report['lines']} held-out lines")


if __name__ == "__main__":
    main()
