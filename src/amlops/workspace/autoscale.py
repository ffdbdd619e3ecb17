"""Autoscale settings through azure-mgmt-monitor's `MonitorManagementClient.autoscale_settings`, the client
Azure ML's autoscale how-to uses (learn.microsoft.com/azure/machine-learning/how-to-autoscale-endpoints).

A setting lives in the workspace's resource group and targets one online deployment by its ARM id; a rule
on a deployment metric (CpuUtilizationPercentage) names the deployment, one on an endpoint metric
(RequestLatency) the endpoint, as the how-to's rules do. Settings read back into the same specs they were
written from, so a second apply compares equal and writes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from amlops.workspace.interface import AutoscaleSpec, ScaleProfileSpec, ScaleRuleSpec

#: The operation group's api-version in azure-mgmt-monitor 7.0 (the local control plane serves the same).
API_VERSION = "2022-10-01"


class SdkAutoscale:
    """The autoscale settings of one workspace's online deployments."""

    def __init__(self, client: Any, resource_group: str, workspace_id: str, location: str) -> None:
        self.client, self.resource_group, self.workspace_id, self.location = client, resource_group, workspace_id, location

    def _endpoint_id(self, endpoint: str) -> str:
        return f"{self.workspace_id}/onlineEndpoints/{endpoint}"

    def settings(self) -> list[AutoscaleSpec]:
        prefix = self._endpoint_id("").lower()
        found = []
        for resource in self.client.autoscale_settings.list_by_resource_group(self.resource_group):
            target = (resource.target_resource_uri or "").lower()
            if target.startswith(prefix):
                found.append(self._spec(resource))
        return sorted(found, key=lambda s: s.name)

    def put(self, spec: AutoscaleSpec) -> None:
        from azure.mgmt.monitor.models import AutoscaleSettingResource

        target = f"{self._endpoint_id(spec.endpoint)}/deployments/{spec.deployment}"
        body = AutoscaleSettingResource(
            location=self.location,
            tags=spec.tags,
            profiles=[self._profile(spec.endpoint, target, p) for p in spec.profiles],
            enabled=spec.enabled,
            target_resource_uri=target,
        )
        self.client.autoscale_settings.create_or_update(self.resource_group, spec.name, body)

    def delete(self, name: str) -> None:
        self.client.autoscale_settings.delete(self.resource_group, name)

    # -- specs <-> azure-mgmt-monitor models -------------------------------------------------------------
    def _profile(self, endpoint: str, target: str, p: ScaleProfileSpec) -> Any:
        from azure.mgmt.monitor.models import (
            AutoscaleProfile,
            MetricTrigger,
            Recurrence,
            RecurrentSchedule,
            ScaleAction,
            ScaleCapacity,
            ScaleRule,
        )

        rules = [
            ScaleRule(
                metric_trigger=MetricTrigger(
                    metric_name=r.metric,
                    metric_resource_uri=target if r.scope == "deployment" else self._endpoint_id(endpoint),
                    time_grain=timedelta(minutes=r.time_grain_minutes),
                    statistic=r.statistic,
                    time_window=timedelta(minutes=r.window_minutes),
                    time_aggregation=r.time_aggregation,
                    operator=r.operator,
                    threshold=r.threshold,
                ),
                scale_action=ScaleAction(
                    direction=r.direction, type="ChangeCount", value=str(r.change), cooldown=timedelta(minutes=r.cooldown_minutes)
                ),
            )
            for r in p.rules
        ]
        recurrence = None
        if p.days:
            schedule = RecurrentSchedule(time_zone=p.time_zone, days=list(p.days), hours=[p.hour], minutes=[p.minute])
            recurrence = Recurrence(frequency="Week", schedule=schedule)
        capacity = ScaleCapacity(minimum=str(p.minimum), maximum=str(p.maximum), default=str(p.default))
        return AutoscaleProfile(name=p.name, capacity=capacity, rules=rules, recurrence=recurrence)

    def _spec(self, resource: Any) -> AutoscaleSpec:
        parts = resource.target_resource_uri.split("/")
        endpoint, deployment = parts[-3], parts[-1]
        return AutoscaleSpec(
            name=resource.name,
            endpoint=endpoint,
            deployment=deployment,
            profiles=tuple(_profile_spec(p) for p in resource.profiles),
            tags=dict(resource.tags or {}),
            enabled=resource.enabled is not False,
        )


def _profile_spec(p: Any) -> ScaleProfileSpec:
    schedule = p.recurrence.schedule if p.recurrence else None
    return ScaleProfileSpec(
        name=p.name,
        minimum=int(p.capacity.minimum),
        maximum=int(p.capacity.maximum),
        default=int(p.capacity.default),
        rules=tuple(_rule_spec(r) for r in p.rules or ()),
        days=tuple(schedule.days) if schedule else (),
        time_zone=schedule.time_zone if schedule else "",
        hour=schedule.hours[0] if schedule and schedule.hours else 0,
        minute=schedule.minutes[0] if schedule and schedule.minutes else 0,
    )


def _rule_spec(r: Any) -> ScaleRuleSpec:
    trigger, action = r.metric_trigger, r.scale_action
    return ScaleRuleSpec(
        metric=trigger.metric_name,
        scope="deployment" if "/deployments/" in trigger.metric_resource_uri.lower() else "endpoint",
        operator=_text(trigger.operator),
        threshold=float(trigger.threshold),
        statistic=_text(trigger.statistic),
        time_aggregation=_text(trigger.time_aggregation),
        time_grain_minutes=_minutes(trigger.time_grain),
        window_minutes=_minutes(trigger.time_window),
        direction=_text(action.direction),
        change=int(action.value or 1),
        cooldown_minutes=_minutes(action.cooldown),
    )


def _text(value: Any) -> str:
    """An enum member's value as the service wrote it (the client deserializes known values into enums)."""
    return str(getattr(value, "value", value))


def _minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)
