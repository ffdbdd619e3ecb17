"""Schedule files at validate: what azure-ai-ml cannot load, and what it loads but Azure or the environment refuses.

Each case breaks the sample in one place and expects one problem at its file, line and field. The shapes of
azureml-examples' cli/schedules and cli/monitoring files (cron, recurrence, settings, monitors with drift and
quality signals) load as they are; a generation-safety monitor does not load in azure-ai-ml 1.35.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_support import copy_sample, edit

from amlops.manifests.load import validate_repository

DRIFT = "schedules/churn-drift.yml"
WEEKLY = "schedules/churn-retrain-weekly.yml"
LOCAL = "environments/local.yaml"

CASES = [
    ("cron", WEEKLY, '"0 6 * * 1"', '"0 6 * *"', f"{WEEKLY}:7:3: trigger.expression", "is not a cron expression"),
    ("cron-range", WEEKLY, '"0 6 * * 1"', '"0 25 * * 1"', f"{WEEKLY}:7:3: trigger.expression", "is not a cron expression"),
    (
        "time-zone",
        WEEKLY,
        "W. Europe Standard Time",
        "Europe/Amsterdam",
        f"{WEEKLY}:8:3: trigger.time_zone",
        "not an Azure time zone",
    ),
    ("no-job-file", WEEKLY, "../jobs/churn-retrain.yml", "../jobs/nope.yml", f"{WEEKLY}:9:1: create_job", "No such file"),
    (
        "job-elsewhere",
        WEEKLY,
        "../jobs/churn-retrain.yml",
        "../jobs/phi3-finetune.yml",
        f"{WEEKLY}:9:1: create_job",
        "is not one of local's jobs",
    ),
    (
        "sdk-unknown-key",
        DRIFT,
        "      type: data_drift\n",
        "      type: data_drift\n      alert: true\n",
        f"{DRIFT}:25:7: create_monitor.monitoring_signals.input_drift.alert",
        "unknown key",
    ),
    (
        "sdk-bad-metric",
        DRIFT,
        "normalized_wasserstein_distance: 0.1",
        "wasserstein: 0.1",
        f"{DRIFT}:45:11: create_monitor.monitoring_signals.input_drift.metric_thresholds.numerical.wasserstein",
        "unknown key",
    ),
    (
        "deployment",
        DRIFT,
        "azureml:churn:main",
        "azureml:churn:blue",
        f"{DRIFT}:21:5: create_monitor.monitoring_target.endpoint_deployment_id",
        "serves no deployment 'blue'",
    ),
    (
        "baseline",
        DRIFT,
        "azureml:churn-baseline:1",
        "azureml:churn-baseline:2",
        f"{DRIFT}:36:11: create_monitor.monitoring_signals.input_drift.reference_data.input_data.path",
        "churn-baseline:2 is not defined",
    ),
    (
        "no-schedule",
        LOCAL,
        "  - churn-drift\n",
        "  - churn-drift\n  - nightly\n",
        f"{LOCAL}:69:5: schedules[2]",
        "no schedule 'nightly'",
    ),
    (
        "not-a-monitor",
        LOCAL,
        "  churn-drift:\n    on_breach",
        "  churn-retrain-weekly:\n    on_breach",
        f"{LOCAL}:70:3: monitors.churn-retrain-weekly",
        "is not a model monitor",
    ),
    (
        "breach-job",
        LOCAL,
        "      run: churn-retrain",
        "      run: churn-train",
        f"{LOCAL}:72:7: monitors.churn-drift.on_breach.run",
        "is not one of this environment's jobs",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "where", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_broken_schedule_is_one_problem_at_its_line(tmp_path: Path, file: str, old: str, new: str, where: str, says: str):
    root = copy_sample(tmp_path)
    edit(root / file, old, new)
    _, problems = validate_repository(root, "local")
    assert [str(p).split(": ", 2)[:2] for p in problems] == [where.split(": ", 1)], problems
    assert says in problems[0].message


def test_the_sample_schedules_validate(tmp_path: Path):
    _, problems = validate_repository(copy_sample(tmp_path))
    assert problems == []


SHAPES = {
    "cron-job-schedule.yml": "trigger: {type: cron, expression: '0 * * * *', start_time: '2022-07-10T10:00:00', time_zone: Pacific Standard Time}\ncreate_job: ../jobs/churn-retrain.yml\n",
    "recurrence-job-schedule.yml": "trigger:\n  type: recurrence\n  frequency: day\n  interval: 1\n  schedule: {hours: [4, 5, 10], minutes: [0, 30]}\n  time_zone: Pacific Standard Time\ncreate_job: ../jobs/churn-retrain.yml\n",
    "settings-job-schedule.yml": "trigger: {type: cron, expression: '0 * * * *'}\ncreate_job:\n  type: pipeline\n  job: ../jobs/churn-retrain.yml\n  settings: {continue_on_step_failure: true}\n  tags: {schedule: settings}\n",
    "out-of-box-monitor.yaml": "trigger: {type: recurrence, frequency: day, interval: 1, schedule: {hours: 3, minutes: 15}}\ncreate_monitor:\n  compute: {instance_type: standard_e4s_v3, runtime_version: '3.4'}\n  monitoring_target: {ml_task: classification, endpoint_deployment_id: 'azureml:churn:main'}\n  alert_notification: {emails: [a@example.com]}\n",
    "quality-and-prediction-monitor.yaml": "trigger: {type: cron, expression: '15 3 * * *'}\ncreate_monitor:\n  compute: {instance_type: standard_e4s_v3, runtime_version: '3.4'}\n  monitoring_target: {ml_task: classification, endpoint_deployment_id: 'azureml:churn:main'}\n  monitoring_signals:\n    quality:\n      type: data_quality\n      reference_data: {input_data: {path: 'azureml:churn-baseline:1', type: mltable}, data_context: training}\n      metric_thresholds: {numerical: {null_value_rate: 0.01}}\n    outputs:\n      type: prediction_drift\n      reference_data: {input_data: {path: 'azureml:churn-baseline:1', type: mltable}, data_context: training}\n      metric_thresholds: {categorical: {pearsons_chi_squared_test: 0.02}}\n",
}
GENERATION = "trigger: {type: cron, expression: '0 3 * * *'}\ncreate_monitor:\n  monitoring_signals:\n    safety:\n      type: generation_safety_quality\n      production_data:\n        - input_data: {path: 'azureml:traces:1', type: uri_folder}\n          data_window_size: P7D\n      workspace_connection_id: /subscriptions/x\n"


def test_files_shaped_like_azureml_examples_load_and_a_generation_safety_monitor_is_refused_clearly(tmp_path: Path):
    root = copy_sample(tmp_path)
    for name, body in SHAPES.items():
        (root / "schedules" / name).write_text(f"name: {Path(name).stem}\n{body}")
    (root / "schedules/generation.yaml").write_text(f"name: generation\n{GENERATION}")
    repo, problems = validate_repository(root)
    assert {Path(n).stem for n in SHAPES} <= set(repo.schedules)
    assert sorted({p.path for p in problems}) == ["schedules/generation.yaml"]
    assert [str(p).split(": ", 2)[1] for p in problems] == [
        "create_monitor.monitoring_signals.safety.production_data.0.data_window_size",
        "create_monitor.monitoring_signals.safety.workspace_connection_id",
    ]
