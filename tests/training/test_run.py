"""`amlops run` against the in-memory workspace, and the request bodies the SDK builds from the job files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_support import copy_sample
from training_support import apply_all, training_session
from typer.testing import CliRunner

from amlops.cli.main import app
from amlops.training.follow import Watchers, follow
from amlops.training.submit import Refused, job_spec, parse_sets
from amlops.workspace.memory import MemoryWorkspace
from amlops.workspace.sdk import job_entity

STEPS = ["prepare", "train", "evaluate", "register"]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_sample(tmp_path_factory.mktemp("repo"))


@pytest.fixture
def applied(root: Path) -> MemoryWorkspace:
    workspace = MemoryWorkspace("local")
    assert apply_all(root, workspace).ok
    return workspace


class Seen:
    def __init__(self) -> None:
        self.statuses: list[str] = []
        self.steps: list[tuple[str, str]] = []
        self.log = ""

    def watchers(self) -> Watchers:
        return Watchers(
            lambda r: self.statuses.append(r.status),
            lambda s: self.steps.append((s.node, s.status)),
            lambda t: setattr(self, "log", self.log + t),
        )


def test_a_job_whose_assets_are_not_registered_is_refused_with_what_to_do(root: Path):
    session = training_session(root, MemoryWorkspace("local"))
    with pytest.raises(Refused, match=r"component churn_evaluate:1 is not registered.*run `amlops apply --env local` first"):
        job_spec(session, "churn-retrain", {})


def test_jobs_the_environment_does_not_run_and_unknown_inputs_are_refused(root: Path, applied: MemoryWorkspace):
    session = training_session(root, applied)
    with pytest.raises(Refused, match="local runs no job 'phi3-finetune' \\(its jobs: churn-retrain\\)"):
        job_spec(session, "phi3-finetune", {})
    with pytest.raises(Refused, match="has no input min_acc \\(its inputs: customers, min_accuracy\\)"):
        job_spec(session, "churn-retrain", parse_sets(["inputs.min_acc=0.9"]))
    with pytest.raises(Refused, match="expected inputs.NAME=VALUE"):
        parse_sets(["min_accuracy=0.9"])


def test_a_pipeline_runs_on_the_clusters_azure_names_and_is_followed_to_completion(root: Path, applied: MemoryWorkspace):
    session = training_session(root, applied)
    spec = job_spec(session, "churn-retrain", parse_sets(["inputs.min_accuracy=0.8"]))
    assert spec.computes == session.training.computes and spec.inputs == {"min_accuracy": "0.8"}
    assert spec.tags["amlops.manifest"] == "jobs/churn-retrain.yml"
    run = applied.submit(spec)
    seen = Seen()
    ended = follow(applied, run.name, seen.watchers(), sleep=lambda _s: None)
    assert ended.status == "Completed" and seen.statuses[-1] == "Completed"
    assert [node for node, status in seen.steps if status == "Completed"] == STEPS
    assert all(f"{node}: Completed" in seen.log for node in STEPS)


def test_a_failed_step_fails_the_run_cancels_the_rest_and_shows_its_log(root: Path, applied: MemoryWorkspace):
    applied.failing_steps = {"train"}
    session = training_session(root, applied)
    run = applied.submit(job_spec(session, "churn-retrain", {}))
    seen = Seen()
    ended = follow(applied, run.name, seen.watchers(), sleep=lambda _s: None)
    assert ended.status == "Failed"
    assert {s.node: s.status for s in ended.steps} == {
        "prepare": "Completed",
        "train": "Failed",
        "evaluate": "Canceled",
        "register": "Canceled",
    }
    assert f"--- log of failed step train ({run.name}_train) ---" in seen.log


def test_cancel_ends_canceled_and_a_finished_run_stays_as_it_is(root: Path, applied: MemoryWorkspace):
    session = training_session(root, applied)
    run = applied.submit(job_spec(session, "churn-retrain", {}))
    applied.cancel(run.name)
    assert applied.run(run.name).status == "Canceled"  # type: ignore[union-attr]
    applied.cancel(run.name)
    assert applied.run(run.name).status == "Canceled"  # type: ignore[union-attr]


def test_the_cli_exits_with_the_runs_result_and_lists_runs_with_their_studio_link(
    root: Path, applied: MemoryWorkspace, monkeypatch: pytest.MonkeyPatch
):
    # `amlops run` imports the capability when it runs: patched where it is looked up then.
    monkeypatch.setattr("amlops.training.submit.open_training", lambda repo, env: training_session(root, applied, env))
    monkeypatch.setattr("amlops.training.follow.time.sleep", lambda _s: None)
    v1 = root / "models/churn/v1"
    applied.trained["candidate"] = {p.relative_to(v1).as_posix(): p.read_bytes() for p in v1.rglob("*") if p.is_file()}
    runner = CliRunner()
    ok = runner.invoke(app, ["run", "churn-retrain", "--env", "local", "--wait", "--repo", str(root)])
    assert ok.exit_code == 0, ok.output
    assert "identical to churn:1: no new version, no branch" in ok.output  # v1's bytes again: its candidate is none
    assert "step prepare Completed" in ok.output and "churn_retrain_0001: Completed" in ok.output.splitlines()
    applied.failing_steps = {"evaluate"}
    failed = runner.invoke(app, ["run", "churn-retrain", "--env", "local", "--wait", "--repo", str(root)])
    assert failed.exit_code == 1 and "step evaluate Failed" in failed.output
    listed = runner.invoke(app, ["runs", "--env", "local", "--repo", str(root)])
    assert listed.exit_code == 0
    names = [r.name for r in applied.runs()]
    assert names[0].endswith("_0002") and listed.output.index(names[0]) < listed.output.index(names[1])
    assert f"https://ml.azure.com/runs/{names[0]}?wsid=" in listed.output


def test_fine_tuning_request_body_from_the_file_on_the_gpu_clusters_azure_name(root: Path):
    from amlops.workspace.interface import JobSpec

    session = training_session(root, MemoryWorkspace("dev"), "dev")

    computes = session.training.computes
    body = job_entity(JobSpec(root / "jobs/phi3-finetune.yml", computes))._to_rest_object().as_dict()["properties"]
    assert body["jobType"] == "FineTuning" and body["computeId"] == computes["gpu"] == "gpu-gi4mt"
    details = body["fineTuningDetails"]
    assert details["taskType"] == "chatCompletion" and details["modelProvider"] == "Custom"
    assert details["model"] == {
        "uri": "azureml://registries/azureml/models/Phi-3-mini-4k-instruct/versions/15",
        "jobInputType": "mlflow_model",
    }
    assert details["trainingData"] == {"uri": "phi3-chat-train:1", "jobInputType": "uri_file"}
    assert details["hyperParameters"]["learning_rate"] == "0.00002"
    assert body["outputs"]["registered_model"] == {"assetName": "phi3-mini-chat-ft", "jobOutputType": "mlflow_model"}


def test_distillation_request_body_names_the_teacher_connection_and_no_key(root: Path):
    from amlops.workspace.interface import JobSpec

    body = job_entity(JobSpec(root / "jobs/phi3-distill.yml", {}))._to_rest_object().as_dict()["properties"]
    props = body["properties"]
    assert props["azureml.enable_distillation"] == "True"
    assert props["azureml.teacher_model.endpoint_name"] == "llama-teacher"
    assert props["azureml.instance_type.data_generation"] == "Standard_NC24ads_A100_v4"
    assert "api_key" not in props["azureml.connection_information"] and "computeId" not in body
    assert body["fineTuningDetails"]["model"]["uri"].startswith("azureml://registries/azureml/models/Phi-3-mini")


def test_a_pipeline_and_each_step_are_placed_on_the_clusters_azure_names(root: Path):
    from amlops.workspace.interface import JobSpec

    job = job_entity(JobSpec(root / "jobs/churn-retrain.yml", {"cpu": "cpu-abcde"}, {"min_accuracy": "0.9"}, {"t": "1"}))
    assert job.settings.default_compute == "cpu-abcde"  # type: ignore[attr-defined]
    given = job.inputs["min_accuracy"]  # type: ignore[attr-defined]
    assert given._data == "0.9"  # still the pipeline's input, now with the new value
    assert job.tags == {"amlops.retrains": "churn", "t": "1"}  # the file's tags, and amlops's
