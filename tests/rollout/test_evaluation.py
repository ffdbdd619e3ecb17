"""The evaluation gate against the in-memory workspace: a candidate model compared offline with the live one
before it gets any traffic, mirror included; a losing one never reaches traffic, and the record says why."""

from __future__ import annotations

import pytest
from memory_support import SETTINGS, STEPS, FakeClock, azure_name, loop, serving, target

from amlops.manifests.environment import Criterion, Evaluation, EvaluationKind, Strategy
from amlops.manifests.repository import AssetKind
from amlops.rollout.decide import Evaluate, Progress, next_action
from amlops.rollout.evaluation import Comparison, ModelRef, judge, model_ref, recorded_metrics
from amlops.rollout.loop import RolloutFailed
from amlops.state import record
from amlops.state.evaluation import Evaluated
from amlops.state.record import RolloutRecord, Status
from amlops.state.status import endpoint_status
from amlops.workspace.memory import Killed, MemoryWorkspace

OLD, NEW = azure_name("1"), azure_name("2")
COMPONENT = Evaluation(
    kind=EvaluationKind.component,
    component="azureml:churn_compare:1",
    data="azureml:churn-holdout:1",
    criteria=[Criterion(metric="accuracy")],
)
LOGGED = Evaluation(kind=EvaluationKind.logged_metrics, criteria=[Criterion(metric="accuracy", max_regression=0.02)])


def gated(evaluation: Evaluation = COMPONENT) -> Strategy:
    return STEPS.model_copy(update={"evaluation": evaluation})


def live_one(candidate: float, live: float = 0.8) -> tuple[MemoryWorkspace, FakeClock]:
    """churn serves churn:1; the comparison component would report these accuracies. Both versions are registered,
    as apply registers a release's models before any rollout: a comparison run naming an unregistered one is refused."""
    workspace, clock = serving("1")
    workspace.assets[(AssetKind.component, "churn_compare", "1")] = {}
    workspace.assets[(AssetKind.data, "churn-holdout", "1")] = {}
    workspace.models.update({("churn", "1"): {}, ("churn", "2"): {}})
    workspace.model_metrics = {"churn:1": {"accuracy": live}, "churn:2": {"accuracy": candidate}}
    return workspace, clock


def evaluated(workspace: MemoryWorkspace) -> Evaluated:
    found = Evaluated.decode(workspace.tags("churn").get(record.EVALUATION))
    assert found is not None
    return found


def traffic_writes(workspace: MemoryWorkspace) -> list[tuple[dict[str, int], dict[str, int]]]:
    """(traffic, mirror) after every write, collected from now on."""
    seen: list[tuple[dict[str, int], dict[str, int]]] = []
    workspace.on_write.append(
        lambda: seen.append((dict(workspace.endpoints["churn"].spec.traffic), dict(workspace.endpoints["churn"].spec.mirror)))
    )
    return seen


def test_a_better_candidate_is_evaluated_before_its_deployment_exists_then_rolled_out() -> None:
    workspace, clock = live_one(candidate=0.9)
    events: list[str] = []
    outcome = loop(workspace, target("2", gated()), clock, events).run()
    submitted = next(i for i, w in enumerate(workspace.writes) if w.startswith("submit component azureml:churn_compare:1"))
    assert submitted < workspace.writes.index(f"begin deployment churn/{NEW}")
    assert workspace.endpoints["churn"].spec.traffic == {NEW: 100}
    assert outcome.evaluated == evaluated(workspace)
    assert outcome.evaluated.passed and outcome.evaluated.figures == {"accuracy": (0.9, 0.8)}
    assert outcome.evaluated.candidate == "churn:2" and outcome.evaluated.live == "churn:1"
    assert any("evaluation passed: accuracy 0.9 (candidate churn:2) vs 0.8 (live churn:1)" in e for e in events)


def test_a_losing_candidate_never_gets_traffic_and_the_record_has_both_figures() -> None:
    workspace, clock = live_one(candidate=0.7)
    seen = traffic_writes(workspace)
    with pytest.raises(RolloutFailed, match=r"evaluation failed: accuracy 0\.7 \(candidate churn:2\) vs 0\.8") as failed:
        loop(workspace, target("2", gated()), clock).run()
    assert all(traffic == {OLD: 100} and mirror == {} for traffic, mirror in seen)  # never a share, nor a mirror
    assert not any(w.startswith("begin deployment") for w in workspace.writes)  # nor a deployment to send it to
    assert failed.value.evaluated is not None and failed.value.evaluated.figures == {"accuracy": (0.7, 0.8)}
    assert not evaluated(workspace).passed
    status = endpoint_status(workspace.endpoint("churn"))  # type: ignore[arg-type]
    assert status.evaluated == failed.value.evaluated  # `amlops status` shows it
    rec = RolloutRecord.decode(workspace.tags("churn")[record.ROLLOUT])
    assert rec is not None and rec.status is Status.aborted
    assert "accuracy 0.7" in workspace.tags("churn")[record.REASON]
    assert record.LOCK not in workspace.tags("churn")


def test_a_rollout_stopped_by_the_evaluation_reports_no_steps_of_the_rollout_before_it() -> None:
    workspace, clock = live_one(candidate=0.9)
    loop(workspace, target("2", gated()), clock).run()
    assert record.decode_measured(workspace.tags("churn").get(record.MEASURED))  # churn:2's steps, recorded
    workspace.model_metrics["churn:3"] = {"accuracy": 0.5}
    with pytest.raises(RolloutFailed) as failed:
        loop(workspace, target("3", gated()), clock).run()
    assert failed.value.measured == []  # churn:3 took no step: nothing measured is its own
    assert record.decode_measured(workspace.tags("churn").get(record.MEASURED)) == []


def test_an_evaluation_interrupted_mid_run_is_observed_again_not_resubmitted() -> None:
    workspace, clock = live_one(candidate=0.9)
    workspace.kill_after = 2  # the lock, then the evaluation run submitted: the process dies while it runs
    with pytest.raises(Killed):
        loop(workspace, target("2", gated()), clock).run()
    assert len(workspace.jobs) == 1
    clock.sleep(SETTINGS.lock_ttl + 1)  # the dead run's lock expires
    events: list[str] = []
    loop(workspace, target("2", gated()), clock, events).run()
    assert len(workspace.jobs) == 1 and sum(w.startswith("submit component") for w in workspace.writes) == 1
    assert any(e.startswith("found evaluation run amlops-eval-churn-") for e in events)
    assert workspace.endpoints["churn"].spec.traffic == {NEW: 100} and evaluated(workspace).passed


def test_a_failed_evaluation_run_stops_the_rollout_and_the_next_apply_runs_it_again() -> None:
    workspace, clock = live_one(candidate=0.9)
    workspace.failing_components = {"churn_compare"}
    seen = traffic_writes(workspace)
    with pytest.raises(RolloutFailed, match=r"evaluation gave no verdict: evaluation run amlops-eval-churn-\w+ ended Failed"):
        loop(workspace, target("2", gated()), clock).run()
    assert all(traffic == {OLD: 100} and mirror == {} for traffic, mirror in seen)
    workspace.failing_components = set()
    loop(workspace, target("2", gated()), clock).run()
    names = sorted(workspace.jobs)
    assert len(names) == 2 and names[1] == f"{names[0]}-2"  # the next attempt, under the next name
    assert workspace.endpoints["churn"].spec.traffic == {NEW: 100}


@pytest.mark.parametrize("without", ["pass", "fail"])
def test_a_first_rollout_has_no_live_model_and_says_so(without: str) -> None:
    workspace, events = MemoryWorkspace("test"), []
    strategy = gated(COMPONENT.model_copy(update={"without_live_model": without}))
    run = loop(workspace, target("1", strategy), FakeClock(), events).run
    if without == "pass":
        assert run().evaluated == Evaluated("churn:1", None, True)
        assert workspace.endpoints["churn"].spec.traffic == {OLD: 100}
    else:
        with pytest.raises(RolloutFailed, match="no live model to compare candidate churn:1 with"):
            run()
        assert workspace.endpoints["churn"].spec.traffic == {}
    assert not workspace.jobs  # nothing to compare: no run
    assert any("no live model to compare candidate churn:1 with" in e for e in events)


@pytest.mark.parametrize(("candidate", "passes"), [("0.79", True), ("0.77", False)])
def test_logged_metrics_compare_what_the_model_versions_record(candidate: str, passes: bool) -> None:
    workspace, clock = serving("1")
    workspace.models[("churn", "1")] = {"accuracy": "0.8"}
    workspace.model_properties_store[("churn", "2")] = {"metrics.accuracy": candidate}
    rollout = loop(workspace, target("2", gated(LOGGED)), clock)
    if passes:  # within max_regression 0.02
        assert rollout.run().evaluated == Evaluated("churn:2", "churn:1", True, {"accuracy": (0.79, 0.8)})
    else:
        with pytest.raises(RolloutFailed, match=r"accuracy 0\.77 \(candidate churn:2\) vs 0\.8 \(live churn:1\)"):
            rollout.run()
    assert not workspace.jobs


def test_a_missing_metric_fails_the_criterion() -> None:
    workspace, clock = serving("1")
    workspace.models[("churn", "1")] = {"accuracy": "0.8"}
    with pytest.raises(RolloutFailed, match="accuracy missing \\(candidate churn:2\\) vs 0.8"):
        loop(workspace, target("2", gated(LOGGED)), clock).run()


def test_no_evaluation_for_the_same_model_nor_for_a_rollback() -> None:
    workspace, _ = serving("1")
    live = workspace.endpoint("churn")
    bumped = target("2", gated()).target
    assert isinstance(next_action(bumped, live, Progress(), 0), Evaluate)
    assert not isinstance(next_action(target("2", gated(), gates=False).target, live, Progress(), 0), Evaluate)
    same = target("1", gated(), instances=2).target  # another instance count: the same model, no new deployment
    assert not isinstance(next_action(same, live, Progress(), 0), Evaluate)


def test_judge_and_the_readers_of_figures() -> None:
    comparison = Comparison(
        "churn",
        Evaluation(
            kind=EvaluationKind.logged_metrics,
            criteria=[Criterion(metric="accuracy", min_delta=0.01), Criterion(metric="log_loss", higher_is_better=False)],
        ),
        ModelRef("churn", "2", "azureml:churn:2"),
        ModelRef("churn", "1", "azureml:churn:1"),
    )
    assert judge(comparison, {"accuracy": 0.82, "log_loss": 0.3}, {"accuracy": 0.81, "log_loss": 0.3}, None).passed
    assert not judge(comparison, {"accuracy": 0.815, "log_loss": 0.3}, {"accuracy": 0.81, "log_loss": 0.3}, None).passed
    assert not judge(comparison, {"accuracy": 0.9, "log_loss": 0.31}, {"accuracy": 0.81, "log_loss": 0.3}, None).passed
    arm = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/models/churn/versions/3"
    assert model_ref(arm) == ModelRef("churn", "3", "azureml:churn:3")
    assert model_ref("azureml://registries/r/models/churn/versions/4") == ModelRef(
        "churn", "4", "azureml://registries/r/models/churn/versions/4"
    )
    assert recorded_metrics({"accuracy": "0.8", "metrics.auc": "0.9", "f1": "n/a"}, ["accuracy", "auc", "f1"]) == {
        "accuracy": 0.8,
        "auc": 0.9,
    }


def test_the_evaluation_record_fits_a_tag_and_reads_back() -> None:
    many = {f"metric_number_{i}": (0.123456, 0.654321) for i in range(20)}
    text = Evaluated("churn:2", "churn:1", False, many, "amlops-eval-churn-0123456789ab").encode()
    back = Evaluated.decode(text)
    assert len(text) <= record.MAX_TAG and back is not None and not back.passed and back.live == "churn:1"


def test_the_sample_plans_its_evaluation_and_apply_stops_a_worse_churn_model(tmp_path) -> None:
    """The sample's local environment against the twin: the plan says an evaluation will run and how; the
    apply submits the sample's comparison component on the held-out data asset, and a worse model loses."""
    import json

    from sample_support import add_churn_version, copy_sample, edit
    from training.training_support import apply_all, session

    from amlops.rollout.render import lines, markdown

    root = copy_sample(tmp_path)
    workspace = MemoryWorkspace("local")
    first = apply_all(root, workspace)
    churn = next(o for o in first.outcomes if o.endpoint == "churn")
    assert first.ok and churn.evaluated == Evaluated("churn:1", None, True)  # no live model: said, and passed
    assert not workspace.jobs or all("eval" not in name for name in workspace.jobs)
    weights = json.loads((root / "models/churn/v1/weights.json").read_text())
    add_churn_version(root, "2", [-c for c in weights["coefficients"]])
    planned = session(root, workspace).plan()
    row = next(r for r in lines(planned) if r[0].strip() == "evaluation")
    assert row[2].startswith(
        "component azureml:churn_compare:1 on azureml:churn-holdout:1 (cpu): candidate churn:2 against live churn:1"
    )
    assert "accuracy higher is better, min delta +0" in row[2]
    assert "| evaluation | run | component azureml:churn_compare:1" in markdown(planned)
    workspace.model_metrics = {"churn:1": {"accuracy": 0.9}, "churn:2": {"accuracy": 0.1}}
    second = apply_all(root, workspace)
    assert [f.endpoint for f in second.rolled_back] == ["churn"]
    assert "accuracy 0.1 (candidate churn:2) vs 0.9 (live churn:1)" in second.rolled_back[0].reason
    live = workspace.endpoint("churn")
    assert live is not None and list(live.traffic.values()) == [100] and not live.mirror_traffic
    assert all(d.model == "azureml:churn:1" for d in live.deployments.values())
    again = next(r for r in lines(session(root, workspace).plan()) if r[0].strip() == "evaluation")
    assert "recorded so far: evaluation failed: accuracy 0.1 (candidate churn:2) vs 0.9 (live churn:1)" in again[2]
    edit(root / "environments/local.yaml", "kind: component", "kind: logged_metrics")  # the figures the versions record
    for text in ("component: azureml:churn_compare:1", "data: azureml:churn-holdout:1", "compute: cpu"):
        edit(root / "environments/local.yaml", f"        {text}\n", "")
    workspace.model_properties_store[("churn", "2")] = {"accuracy": "0.95"}  # as its training run recorded it
    workspace.models[("churn", "1")]["accuracy"] = "0.9"
    logged = next(r for r in lines(session(root, workspace).plan()) if r[0].strip() == "evaluation")
    assert logged[2].startswith("the metrics both model versions record: candidate churn:2 against live churn:1")
    assert "recorded so far: evaluation passed: accuracy 0.95 (candidate churn:2) vs 0.9 (live churn:1)" in logged[2]


def test_a_refused_evaluation_run_stops_the_rollout_before_any_traffic() -> None:
    workspace, clock = live_one(candidate=0.9)
    del workspace.assets[(AssetKind.data, "churn-holdout", "1")]  # as if never registered: Azure answers 400
    with pytest.raises(
        RolloutFailed, match="evaluation run amlops-eval-churn-\\w+ was refused: data asset azureml:churn-holdout:1"
    ):
        loop(workspace, target("2", gated()), clock).run()
    assert workspace.endpoints["churn"].spec.traffic == {OLD: 100} and record.LOCK not in workspace.tags("churn")


def test_a_plan_reads_the_metrics_of_a_version_not_yet_registered_from_its_model_file(tmp_path) -> None:
    from sample_support import copy_sample
    from training.training_support import session

    from amlops.rollout.evaluation_preview import preview

    root = copy_sample(tmp_path)
    (root / "models/churn/v2").mkdir()
    (root / "models/churn/v2/weights.json").write_text((root / "models/churn/v1/weights.json").read_text())
    (root / "models/churn/v2.yml").write_text(
        (root / "models/churn/v1.yml").read_text().replace('version: "1"', 'version: "2"').replace("path: v1", "path: v2")
        + "properties:\n  metrics.accuracy: '0.93'\n"
    )
    workspace = MemoryWorkspace("local")
    workspace.models[("churn", "1")] = {"accuracy": "0.9"}
    comparison = Comparison("churn", LOGGED, ModelRef("churn", "2", "azureml:churn:2"), ModelRef("churn", "1", "azureml:churn:1"))
    found = preview(workspace, comparison, session(root, workspace).repo)
    assert found == Evaluated("churn:2", "churn:1", True, {"accuracy": (0.93, 0.9)})
