"""Autoscale on the local control plane through the real azure-mgmt-monitor client: applied after the rollout,
read back, re-applied without a write, deleted with its block; and the bodies Azure refuses, refused."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from plane_support import Plane, commit, make_repo, write_environment
from typer.testing import CliRunner

from amlops.cli.main import app
from amlops.local.client import monitor_client
from amlops.local.connection import Connection
from amlops.local.page import page_key

pytestmark = pytest.mark.slow

AUTOSCALE = """        autoscale:
          min_instances: 1
          max_instances: 3
          rules:
            - {metric: cpu, operator: GreaterThan, threshold: 70, direction: out, change: 2}
            - {metric: cpu, operator: LessThan, threshold: 30, direction: in}
            - {metric: request_latency, operator: GreaterThan, threshold: 70, direction: out}
          schedules:
            - {name: weekend, days: [Saturday, Sunday], start: "09:00", end: "17:00", time_zone: UTC, min: 2, max: 3}
"""


def declare(root: Path, block: str) -> None:
    write_environment(root, {"churn": "1"})
    manifest = root / "environments" / "local.yaml"
    manifest.write_text(manifest.read_text() + block)
    commit(root, "autoscale")


def test_autoscale_is_applied_after_the_rollout_read_back_kept_and_deleted_with_its_block(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path)
    declare(root, AUTOSCALE)
    assert plane.apply(root).ok
    client, group = monitor_client(plane.state_dir), plane.admin.conn.resource_group
    (setting,) = client.autoscale_settings.list_by_resource_group(group)
    deployment = plane.client().online_deployments.get(
        plane.session(root).release.endpoints["churn"].deployments["main"].azure_name, "churn"
    )
    endpoint = plane.client().online_endpoints.get("churn")
    assert setting.target_resource_uri.lower() == deployment.id.lower() and setting.enabled
    default, weekend, back = setting.profiles
    assert (default.capacity.minimum, default.capacity.maximum, weekend.capacity.minimum) == ("1", "3", "2")
    assert (weekend.recurrence.schedule.days, weekend.recurrence.schedule.hours, back.recurrence.schedule.hours) == (
        ["Saturday", "Sunday"],
        [9],
        [17],
    )
    cpu, _, latency = default.rules
    assert cpu.metric_trigger.metric_resource_uri.lower() == deployment.id.lower() and cpu.scale_action.value == "2"
    assert latency.metric_trigger.metric_resource_uri.lower() == endpoint.id.lower()
    assert any(f"autoscale {setting.name}" in said for said in plane.said("churn"))
    shown = CliRunner().invoke(
        app, ["status", "--env", "local", "--repo", str(root)], env={"AMLOPS_LOCAL_STATE_DIR": str(plane.state_dir)}
    )
    assert f"autoscale {setting.name}: deployment: {deployment.name}; profile default: 1-3 instances" in shown.stdout, (
        shown.output
    )
    connection = Connection.load(plane.state_dir)
    base, ca, web = connection.resource_manager.rstrip("/"), connection.ca_bundle, requests.Session()
    web.get(f"{base}/ui/login?key={page_key(plane.state_dir)}", verify=ca, timeout=10)
    page = web.get(
        f"{base}/ui/endpoints/realtime/churn/detail",
        params={"wsid": endpoint.id.rsplit("/onlineEndpoints", 1)[0]},
        verify=ca,
        timeout=10,
    )
    assert setting.name in page.text and "Saturday,Sunday at 09:00 UTC" in page.text, page.text

    plane.admin.reset_requests()
    assert not plane.session(root).plan().changed and plane.apply(root).ok
    assert plane.writes() == 0

    declare(root, "")
    plan = plane.session(root).plan()
    assert [c.change.value for c in plan.autoscale] == ["delete"]
    assert plane.apply(root).ok
    assert list(client.autoscale_settings.list_by_resource_group(group)) == []


def test_the_plane_refuses_autoscale_bodies_azure_refuses(plane: Plane):
    client, group = monitor_client(plane.state_dir), plane.admin.conn.resource_group
    workspace = f"/subscriptions/{plane.admin.conn.subscription_id}/resourceGroups/{group}/providers/Microsoft.MachineLearningServices/workspaces/local"
    target = f"{workspace}/onlineEndpoints/nope/deployments/main"
    rule = {
        "metricTrigger": {
            "metricName": "CpuUtilizationPercentage",
            "metricResourceUri": target,
            "timeGrain": "PT1M",
            "statistic": "Average",
            "timeWindow": "PT5M",
            "timeAggregation": "Average",
            "operator": "GreaterThan",
            "threshold": 70,
        },
        "scaleAction": {"direction": "Increase", "type": "ChangeCount", "value": "1", "cooldown": "PT5M"},
    }

    def body(**changes) -> dict:
        profile = {"name": "default", "capacity": {"minimum": "1", "maximum": "2", "default": "1"}, "rules": [rule]}
        properties = {"profiles": [profile], "targetResourceUri": target, **changes.pop("properties", {})}
        return {"location": "local", "properties": properties, **changes}

    def refused(document: dict) -> str:
        with pytest.raises(HttpResponseError) as caught:
            client.autoscale_settings.create_or_update(group, "s", BytesIO(json.dumps(document).encode()))
        return str(caught.value)

    assert "Could not find member 'color'" in refused(body(properties={"color": "blue"}))
    too_many = [{"name": f"p{i}", "capacity": {"minimum": "1", "maximum": "1", "default": "1"}, "rules": []} for i in range(21)]
    assert "at most 20 are allowed" in refused(body(properties={"profiles": too_many}))
    upside_down = {"name": "p", "capacity": {"minimum": "3", "maximum": "2", "default": "2"}, "rules": []}
    assert "needs minimum (3) <= default (2) <= maximum (2)" in refused(body(properties={"profiles": [upside_down]}))
    lost = dict(upside_down, capacity={"minimum": "1", "maximum": "2", "default": "1"}, rules=[rule])
    lost["recurrence"] = {"frequency": "Week", "schedule": {"timeZone": "Mars", "days": ["Monday"], "hours": [8], "minutes": [0]}}
    assert "not a supported time zone: 'Mars'" in refused(body(properties={"profiles": [lost]}))
    assert "Required property 'location' not found" in refused({"properties": body()["properties"]})
    assert "was not found" in refused(body())  # the target deployment does not exist
    assert list(client.autoscale_settings.list_by_resource_group(group)) == []
