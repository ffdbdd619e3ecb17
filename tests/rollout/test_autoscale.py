"""Autoscale against the in-memory workspace: validation, the plan's diff, apply after the rollout (and not
after a rollback), idempotence, removal."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from memory_support import SETTINGS, FakeClock
from sample_support import copy_sample, edit

from amlops.manifests import validate_repository
from amlops.rollout import render
from amlops.rollout.apply import Context, apply
from amlops.rollout.autoscale import autoscale_changes
from amlops.rollout.plan import Change, Plan, models_to_check, plan
from amlops.rollout.session import load_release
from amlops.state import record
from amlops.state.record import Lineage
from amlops.workspace.interface import AutoscaleSpec, ScaleProfileSpec
from amlops.workspace.memory import MemoryWorkspace

DEV = "environments/dev.yaml"
RULE_IN = "            - {metric: cpu, operator: LessThan, threshold: 30, window_minutes: 5, direction: in, change: 1, cooldown_minutes: 10}\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_sample(tmp_path / "repo")


def problems(root: Path) -> list[str]:
    return [str(p) for p in validate_repository(root, None)[1]]


@pytest.mark.parametrize(
    ("old", "new", "where", "says"),
    [
        (
            "min_instances: 1\n          max_instances: 2",
            "min_instances: 3\n          max_instances: 2",
            "environments/dev.yaml:56:9: endpoints.churn.deployments.main.autoscale",
            "needs min_instances (3) <= default_instances (3) <= max_instances (2)",
        ),
        (
            "metric: cpu, operator: LessThan",
            "metric: gpu, operator: LessThan",
            "environments/dev.yaml:61:16: endpoints.churn.deployments.main.autoscale.rules[1].metric",
            "Input should be 'cpu' or 'request_latency'",
        ),
        (
            "metric: cpu, operator: LessThan",
            "metric: cpu, operator: Below",
            "environments/dev.yaml:61:29: endpoints.churn.deployments.main.autoscale.rules[1].operator",
            "Input should be 'GreaterThan'",
        ),
        (
            RULE_IN,
            "",
            "environments/dev.yaml:56:9: endpoints.churn.deployments.main.autoscale",
            "rules scale only out: add a rule with direction: in",
        ),
        (
            "      main:\n        model: churn:1\n        autoscale",
            "      main:\n        model: churn:1\n        instance_count: 3\n        autoscale",
            "environments/dev.yaml:56:9: endpoints.churn.deployments.main.instance_count",
            "instance_count 3 is outside autoscale's min_instances 1 to max_instances 2",
        ),
        (
            "window_minutes: 5, direction: in",
            "window_minutes: 2, direction: in",
            "environments/dev.yaml:61:64: endpoints.churn.deployments.main.autoscale.rules[1].window_minutes",
            "greater than or equal to 5",
        ),
    ],
    ids=["min-above-max", "metric", "operator", "one-direction", "instance-count-outside", "window"],
)
def test_a_bad_autoscale_block_is_one_error_naming_file_line_and_field(root: Path, old, new, where, says) -> None:
    edit(root / DEV, old, new)
    (found,) = problems(root)
    assert found.startswith(where) and says in found, found


def test_a_schedule_needs_an_azure_time_zone_and_an_end_after_its_start(root: Path) -> None:
    edit(root / "environments/prod.yaml", "time_zone: W. Europe Standard Time", "time_zone: Europe/Berlin")
    edit(root / "environments/prod.yaml", 'end: "18:00"', 'end: "07:00"')
    (found,) = problems(root)
    assert "schedules[0]: time_zone 'Europe/Berlin' is not one Azure Monitor autoscale accepts" in found, found
    edit(root / "environments/prod.yaml", "time_zone: Europe/Berlin", "time_zone: W. Europe Standard Time")
    (found,) = problems(root)
    assert "schedules[0]: end 07:00 must be later than start 08:00" in found, found


def session_plan(workspace: MemoryWorkspace, root: Path, environment: str = "dev") -> tuple[Plan, Context]:
    """What `amlops plan` shows and the context `apply` takes, as the session makes them."""
    repo, release = load_release(root, environment)
    pins = [(p.name, p.version) for p in models_to_check(release)]
    wanted = plan(release, workspace.observe(release.endpoints, pins))
    lineage = Lineage(environment, release.id, "c" * 40)
    wanted = replace(wanted, autoscale=autoscale_changes(workspace, repo, release, lineage, wanted.retire_endpoints))
    return wanted, Context(workspace, repo, release, lineage, SETTINGS, clock=FakeClock())


def churn_setting(workspace: MemoryWorkspace) -> AutoscaleSpec:
    (setting,) = [s for s in workspace.autoscale.values() if s.endpoint == "churn"]
    return setting


def test_apply_writes_autoscale_after_the_rollout_and_a_second_apply_writes_nothing(root: Path) -> None:
    workspace = MemoryWorkspace("dev")
    wanted, ctx = session_plan(workspace, root)
    assert [(c.change, c.endpoint, c.deployment) for c in wanted.autoscale] == [(Change.create, "churn", "main")]
    assert ("autoscale churn/main", "create") in [row[:2] for row in render.lines(wanted)]
    assert apply(ctx, wanted).ok
    setting = churn_setting(workspace)
    churn = workspace.endpoints["churn"]
    assert setting.deployment in churn.deployments and churn.spec.traffic == {setting.deployment: 100}
    last_churn_write = max(i for i, w in enumerate(workspace.writes) if "churn" in w and "autoscale" not in w)
    assert workspace.writes.index(f"put autoscale {setting.name}") > last_churn_write  # after its rollout completed
    assert setting.tags[record.ENVIRONMENT] == "dev" and setting.tags[record.DEPLOYMENT] == "main"
    (default,) = setting.profiles
    assert (default.minimum, default.maximum, default.default) == (1, 2, 1)
    assert [(r.metric, r.scope, r.direction) for r in default.rules] == [
        ("CpuUtilizationPercentage", "deployment", "Increase"),
        ("CpuUtilizationPercentage", "deployment", "Decrease"),
        ("RequestLatency", "endpoint", "Increase"),
    ]
    writes = len(workspace.writes)
    again, ctx = session_plan(workspace, root)
    assert not again.changed and apply(ctx, again).ok and len(workspace.writes) == writes


def test_the_plan_shows_old_and_new_values_and_a_removed_block_deletes_only_amlops_settings(root: Path) -> None:
    workspace = MemoryWorkspace("dev")
    wanted, ctx = session_plan(workspace, root)
    apply(ctx, wanted)
    ours = churn_setting(workspace)
    theirs = AutoscaleSpec(
        "by-hand", "credit-risk", next(iter(workspace.endpoints["credit-risk"].deployments)), (ScaleProfileSpec("p", 1, 1, 1),)
    )
    workspace.put_autoscale(theirs)
    edit(root / DEV, "max_instances: 2", "max_instances: 4")
    wanted, ctx = session_plan(workspace, root)
    (change,) = wanted.autoscale
    assert change.change is Change.replace
    assert change.detail == "profile default: 1-2 instances, default 1 -> 1-4 instances, default 1"
    assert ("autoscale churn/main", "update", change.detail) in render.lines(wanted)
    assert render.plan_json(wanted)["autoscale"][0]["change"] == "update"
    apply(ctx, wanted)
    assert churn_setting(workspace).profiles[0].maximum == 4
    text = (root / DEV).read_text()
    start = text.index("        autoscale:")
    (root / DEV).write_text(text[:start] + text[text.index("  churn-gpu:") :])
    wanted, ctx = session_plan(workspace, root)
    assert [(c.change, c.old.name if c.old else None) for c in wanted.autoscale] == [(Change.delete, ours.name)]
    apply(ctx, wanted)
    assert list(workspace.autoscale) == ["by-hand"]  # the one made by hand stays


def test_a_new_deployment_gets_the_setting_and_a_rolled_back_rollout_leaves_autoscale_as_it_was(root: Path) -> None:
    workspace = MemoryWorkspace("dev")
    wanted, ctx = session_plan(workspace, root)
    apply(ctx, wanted)
    before = churn_setting(workspace)
    edit(root / DEV, "max_instances: 2", "max_instances: 3")
    edit(
        root / DEV,
        "      main:\n        model: churn:1\n        autoscale",
        "      main:\n        model: churn:1\n        instance_type: Standard_DS4_v2\n        autoscale",
    )
    wanted, ctx = session_plan(workspace, root)
    (new,) = [d.name for e in wanted.changed_endpoints for d in e.deployments if d.change is Change.add]
    workspace.failing_deployments.add(new)
    result = apply(ctx, wanted)
    assert not result.ok and "churn" in result.failures
    assert churn_setting(workspace) == before  # rolled back: the live deployment keeps its setting, unchanged
    workspace.failing_deployments.clear()
    wanted, ctx = session_plan(workspace, root)
    assert apply(ctx, wanted).ok
    after = churn_setting(workspace)
    assert (after.deployment, after.profiles[0].maximum) == (new, 3) and before.name not in workspace.autoscale
    assert workspace.writes.index(f"put autoscale {after.name}") < workspace.writes.index(f"delete autoscale {before.name}")


def test_a_scaled_deployment_is_not_scaled_back_to_its_declared_count(root: Path) -> None:
    workspace = MemoryWorkspace("dev")
    wanted, ctx = session_plan(workspace, root)
    apply(ctx, wanted)
    deployment = workspace.endpoints["churn"].deployments[churn_setting(workspace).deployment]
    deployment.spec = replace(deployment.spec, instance_count=2)  # Azure Monitor scaled it out
    again, _ = session_plan(workspace, root)
    assert not again.changed
