"""Schedules in plan and apply, against the in-memory workspace: create, nothing to do, update with the fields
that changed, delete what amlops owns here and only that; a monitor bound to the deployment the release serves."""

from __future__ import annotations

from pathlib import Path

from sample_support import copy_sample, edit

from amlops.release.schedules import build_schedules
from amlops.rollout import render
from amlops.rollout.events import ignore
from amlops.rollout.plan import Change, Plan
from amlops.rollout.schedules import apply_schedules, observe_baselines, plan_schedules
from amlops.rollout.session import load_release
from amlops.state import record
from amlops.state.record import Lineage
from amlops.workspace.interface import LiveSchedule
from amlops.workspace.memory import MemoryWorkspace


def planned(root: Path, workspace: MemoryWorkspace) -> tuple[Plan, dict]:
    repo, release = load_release(root, "local")
    desired = build_schedules(repo, "local", release)
    baselines = observe_baselines(workspace, desired)
    return plan_schedules(Plan("local", release.id, "x"), desired, workspace.schedules(), baselines), desired


def applied(root: Path, workspace: MemoryWorkspace) -> Plan:
    repo, release = load_release(root, "local")
    plan, desired = planned(root, workspace)
    apply_schedules(workspace, repo, desired, None, plan, Lineage("local", release.id, "c" * 40), ignore)
    return plan


def test_schedules_are_created_once_then_updated_by_field_and_deleted_when_owned(tmp_path: Path):
    root = copy_sample(tmp_path)
    workspace = MemoryWorkspace("local")
    workspace.live_schedules["someone-elses"] = LiveSchedule("someone-elses", False, True, {})
    first = applied(root, workspace)
    assert [(c.change, c.name, c.monitor) for c in first.schedules] == [
        (Change.create, "churn-drift", True),
        (Change.create, "churn-retrain-weekly", False),
    ]
    assert [a.name for a in first.assets] == ["churn-baseline"]  # the monitor's baseline is registered first
    assert workspace.live_schedules["churn-drift"].tags[record.ENVIRONMENT] == "local"
    writes = len(workspace.writes)
    again, _ = planned(root, workspace)
    assert again.schedules == () and len(workspace.writes) == writes
    edit(root / "schedules/churn-retrain-weekly.yml", '"0 6 * * 1"', '"0 7 * * 1"')
    edit(root / "jobs/churn-retrain.yml", "min_accuracy: 0.7", "min_accuracy: 0.75")
    updated = planned(root, workspace)[0]
    [update] = updated.schedules
    assert (update.change, update.name, update.fields) == (Change.replace, "churn-retrain-weekly", ("(job)", "trigger"))
    assert render.lines(updated)[-1] == ("job schedule churn-retrain-weekly", "update", "(job), trigger")
    assert render.plan_json(updated)["schedules"] == [
        {"change": "update", "name": "churn-retrain-weekly", "monitor": False, "fields": ["(job)", "trigger"]}
    ]
    edit(root / "environments/local.yaml", "  - churn-retrain-weekly\n", "")
    deleted = applied(root, workspace)
    assert [(c.change, c.name) for c in deleted.schedules] == [(Change.delete, "churn-retrain-weekly")]
    assert workspace.writes[-2:] == ["disable_schedule churn-retrain-weekly", "delete_schedule churn-retrain-weekly"]
    assert set(workspace.live_schedules) == {"churn-drift", "someone-elses"}


def test_a_monitor_watches_the_azure_name_of_the_deployment_the_release_serves(tmp_path: Path):
    root = copy_sample(tmp_path)
    repo, release = load_release(root, "local")
    azure = release.endpoints["churn"].deployments["main"].azure_name
    monitor = build_schedules(repo, "local", release)["churn-drift"]
    assert monitor.overrides == {
        "create_monitor.monitoring_target.endpoint_deployment_id": f"azureml:churn:{azure}",
        "create_monitor.monitoring_signals.input_drift.production_data.input_data.path": (
            f"azureml://datastores/workspaceblobstore/paths/modelDataCollector/churn/{azure}/model_inputs/"
        ),
    }
    workspace = MemoryWorkspace("local")
    applied(root, workspace)
    edit(
        root / "endpoints/churn/main.yml", "instance_count: 1", "instance_count: 1\nrequest_settings: {request_timeout_ms: 5000}"
    )
    [rebound] = planned(root, workspace)[0].schedules  # a new deployment: the monitor follows it
    assert (rebound.name, rebound.fields) == ("churn-drift", ("(deployment)",))


def test_a_baseline_the_workspace_has_is_not_registered_again_and_other_bytes_under_it_conflict(tmp_path: Path):
    root = copy_sample(tmp_path)
    workspace = MemoryWorkspace("local")
    first, desired = planned(root, workspace)
    [baseline] = [pin for pin in first.assets if pin.name == "churn-baseline"]
    workspace.assets[(baseline.kind, baseline.name, baseline.version)] = {record.CONTENT_HASH: baseline.content_hash}
    again, _ = planned(root, workspace)
    assert baseline not in again.assets and not again.conflicts  # a second apply registers nothing
    workspace.assets[(baseline.kind, baseline.name, baseline.version)] = {record.CONTENT_HASH: "0" * 64}
    other, _ = planned(root, workspace)
    assert baseline not in other.assets and any("churn-baseline:1" in c for c in other.conflicts), other.conflicts
