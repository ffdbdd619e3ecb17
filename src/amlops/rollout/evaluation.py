"""The evaluation gate: before a candidate model gets any traffic (mirror included), compare it offline
with the model that serves now, and roll it out only if it holds every criterion of `strategy.evaluation`.

Unlike a step's gate, which judges a deployment by the requests it answers, an evaluation judges the
model by figures on data: those a component computes for both models on a held-out data asset, or
those the training runs recorded. Each kind of evaluation is an `Evaluator` in `EVALUATORS`: what to
run (or nothing), and how to read both models' figures afterwards; the verdict (`judge`) is the same
for all. A component run is named from what it compares, so an apply that was interrupted finds the
run again instead of submitting another.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from amlops.manifests.environment import Evaluation, EvaluationKind
from amlops.manifests.evaluation_checks import INPUTS, OUTPUT
from amlops.release.bundle import DeploymentRelease, ModelPin
from amlops.state.evaluation import Evaluated
from amlops.state.live import LiveDeployment
from amlops.workspace.interface import ComponentJobSpec, Workspace

#: What a comparison component declares (validate checks it): its inputs, and the output folder of `metrics.json`.
(CANDIDATE, LIVE, DATA), METRICS, METRICS_FILE = INPUTS, OUTPUT, "metrics.json"
#: A run of the same comparison that failed is submitted again under the next name, up to this many times.
ATTEMPTS = 5
VERDICTS = {"pass": "passes", "fail": "fails"}

_SHORT = re.compile(r"^(?:azureml:)?(?P<name>[A-Za-z0-9][\w.-]*):(?P<version>[\w.-]+)$")
_ID = re.compile(r"(?:^|/)models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$")


class EvaluationError(Exception):
    """The evaluation gave no verdict: its run failed, or its figures are missing or unreadable."""


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    reference: str  # as a job input names it: `azureml:<name>:<version>` or a registry URI

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"


def model_ref(text: str | None) -> ModelRef | None:
    """A live deployment's model as Azure reports it (an ARM id, a registry URI, `azureml:<name>:<version>`)."""
    if not text:
        return None
    if match := _SHORT.match(text):
        return ModelRef(match["name"], match["version"], f"azureml:{match['name']}:{match['version']}")
    if match := _ID.search(text):
        registry = text if text.startswith("azureml://registries/") else None
        return ModelRef(match["name"], match["version"], registry or f"azureml:{match['name']}:{match['version']}")
    return None


def pinned(pin: ModelPin) -> ModelRef:
    return ModelRef(pin.name, pin.version, pin.reference if pin.registry else f"azureml:{pin.reference}")


@dataclass(frozen=True)
class Comparison:
    """The candidate (the new deployment's model) against the live model (the one with most traffic now)."""

    endpoint: str
    evaluation: Evaluation
    candidate: ModelRef
    live: ModelRef | None  # None: nothing serves yet

    def job_name(self, attempt: int = 1) -> str:
        """The same comparison, the same name: a later apply observes the run rather than submit it again."""
        what = [
            self.endpoint,
            self.candidate.reference,
            self.live.reference if self.live else "",
            self.evaluation.model_dump_json(),
        ]
        digest = hashlib.sha256("\x1f".join(what).encode()).hexdigest()[:12]
        return f"amlops-eval-{self.endpoint}-{digest}" + (f"-{attempt}" if attempt > 1 else "")


def compare(
    endpoint: str,
    evaluation: Evaluation | None,
    deployments: Mapping[str, DeploymentRelease],
    traffic: Mapping[str, int],
    base: Mapping[str, int],
    live: Mapping[str, LiveDeployment],
) -> Comparison | None:
    """What an evaluation compares, or None when there is nothing to: no evaluation, no new deployment taking
    traffic, or a new deployment serving the live model (only how it is served changes).

    The candidate is the model of the new deployment with most of the desired traffic; the live model, the model
    of the deployment with most traffic now (`base`, by Azure name).
    """
    new = [n for n, share in traffic.items() if share and not base.get(n)]
    if evaluation is None or not new:
        return None
    candidate = pinned(deployments[min(new, key=lambda n: (-traffic[n], n))].model)
    serving = max(base, key=lambda n: (base[n], n)) if base else None
    deployment = live.get(serving) if serving else None
    current = model_ref(deployment.model) if deployment else None
    if current is not None and current.label == candidate.label:
        return None
    return Comparison(endpoint, evaluation, candidate, current)


def judge(comparison: Comparison, candidate: Mapping[str, float], live: Mapping[str, float], job: str | None) -> Evaluated:
    """Passed when the candidate holds every criterion; a metric either model lacks fails it."""
    figures, passed = {}, True
    for criterion in comparison.evaluation.criteria:
        c, base = candidate.get(criterion.metric), live.get(criterion.metric)
        figures[criterion.metric] = (c, base)
        if c is None or base is None:
            passed = False
            continue
        gain = c - base if criterion.higher_is_better else base - c
        passed = passed and gain >= criterion.required_gain - 1e-12
    assert comparison.live is not None
    return Evaluated(comparison.candidate.label, comparison.live.label, passed, figures, job)


def without_live(comparison: Comparison) -> Evaluated:
    """A first rollout: nothing to compare with, so `without_live_model` decides."""
    return Evaluated(comparison.candidate.label, None, comparison.evaluation.without_live_model == "pass")


def verdict(result: Evaluated, evaluation: Evaluation) -> str:
    """The verdict for people: each metric's two figures, and what the criteria asked."""
    if result.live is None:
        return f"{result.describe()} (without_live_model: {evaluation.without_live_model})"
    return f"{result.describe()} (asked: {asked(evaluation)})"


def asked(evaluation: Evaluation) -> str:
    """The criteria, for people: `accuracy higher is better, min delta +0`."""
    return "; ".join(
        f"{c.metric} {'higher' if c.higher_is_better else 'lower'} is better, "
        + (f"max regression {c.max_regression:g}" if c.max_regression is not None else f"min delta {c.min_delta or 0.0:+g}")
        for c in evaluation.criteria
    )


def describe_plan(comparison: Comparison) -> str:
    """What the plan says an evaluation will do."""
    evaluation, live = comparison.evaluation, comparison.live
    if evaluation.kind is EvaluationKind.component:
        how = f"component {evaluation.component} on {evaluation.data} ({evaluation.compute})"
    else:
        how = "the metrics both model versions record"
    if live is None:
        return f"{how}: no live model to compare candidate {comparison.candidate.label} with, so it {VERDICTS[evaluation.without_live_model]}"
    return f"{how}: candidate {comparison.candidate.label} against live {live.label} before any traffic; {asked(evaluation)}"


def recorded_metrics(source: Mapping[str, object], names: Iterable[str]) -> dict[str, float]:
    """The metrics `names` a model version records: key `<metric>` or `metrics.<metric>` of its tags or properties
    in the workspace, or of its model file's tags and properties; what is absent or not a number is left out."""
    found = {}
    for name in names:
        for key in (name, f"metrics.{name}"):
            try:
                found[name] = float(str(source[key]))
                break
            except (KeyError, ValueError):
                continue
    return found


class Evaluator(Protocol):
    """One kind of evaluation: what to run for a comparison (None: nothing), and how to read both figures."""

    def job(self, comparison: Comparison, name: str, computes: Mapping[str, str]) -> ComponentJobSpec | None: ...

    def figures(self, workspace: Workspace, comparison: Comparison, run: str | None) -> tuple[dict[str, float], dict[str, float]]:
        """(candidate's, live model's) metrics."""
        ...


class ComponentRun:
    """A comparison component run on the held-out data asset: inputs `candidate`, `live` (models) and `data`;
    it writes `{"candidate": {metric: value}, "live": {...}}` as `metrics.json` in its output `metrics`."""

    def job(self, comparison: Comparison, name: str, computes: Mapping[str, str]) -> ComponentJobSpec | None:
        evaluation = comparison.evaluation
        assert evaluation.component is not None and evaluation.data is not None and comparison.live is not None
        inputs = {
            CANDIDATE: ("custom_model", comparison.candidate.reference),
            LIVE: ("custom_model", comparison.live.reference),
            DATA: ("uri_folder", evaluation.data),
        }
        compute = computes.get(evaluation.compute, evaluation.compute)
        tags = {"amlops.endpoint": comparison.endpoint, "amlops.candidate": comparison.candidate.label}
        return ComponentJobSpec(name, evaluation.component, inputs, compute, f"amlops-evaluation-{comparison.endpoint}", tags)

    def figures(self, workspace: Workspace, comparison: Comparison, run: str | None) -> tuple[dict[str, float], dict[str, float]]:
        assert run is not None
        raw = workspace.output_file(run, METRICS, METRICS_FILE)
        if raw is None:
            raise EvaluationError(f"evaluation run {run} wrote no {METRICS}/{METRICS_FILE}")
        try:
            data = json.loads(raw)
            return _numbers(data[CANDIDATE]), _numbers(data[LIVE])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EvaluationError(
                f"evaluation run {run}: {METRICS}/{METRICS_FILE} is not {{candidate: {{...}}, live: {{...}}}}: {exc}"
            ) from exc


class LoggedMetrics:
    """The metrics each model version records, as its training run logged them: no run of its own."""

    def job(self, comparison: Comparison, name: str, computes: Mapping[str, str]) -> ComponentJobSpec | None:
        return None

    def figures(self, workspace: Workspace, comparison: Comparison, run: str | None) -> tuple[dict[str, float], dict[str, float]]:
        names = [c.metric for c in comparison.evaluation.criteria]
        assert comparison.live is not None
        return tuple(  # type: ignore[return-value]
            recorded_metrics(workspace.model_properties(m.name, m.version) or {}, names)
            for m in (comparison.candidate, comparison.live)
        )


EVALUATORS: dict[EvaluationKind, Evaluator] = {
    EvaluationKind.component: ComponentRun(),
    EvaluationKind.logged_metrics: LoggedMetrics(),
}


def _numbers(values: object) -> dict[str, float]:
    if not isinstance(values, dict):
        raise TypeError(f"{type(values).__name__}, not a mapping of metrics")
    return {str(k): float(v) for k, v in values.items() if isinstance(v, int | float) and not isinstance(v, bool)}
