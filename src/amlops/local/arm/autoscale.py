"""Azure Monitor autoscale settings (Microsoft.Insights/autoscalesettings, api-version 2022-10-01) for the
workspace's online deployments: recorded and shown, never acted on (local deployments keep their count).

Bodies are checked against the vendored REST API specification (`insights-autoscale-2022-10-01.json`:
unknown members, types, enums, required members, at most 20 profiles and 10 rules each), then against
what its descriptions and Azure's documentation state:
- the target resource exists: an online deployment (learn.microsoft.com/azure/machine-learning/how-to-autoscale-endpoints:
  "target_resource_uri": the deployment's id), and it has one autoscale setting at most
  (learn.microsoft.com/azure/azure-monitor/autoscale/autoscale-understanding-settings: one setting per resource);
- each rule's metric belongs to the resource it names (how-to-monitor-online-endpoints, "Available metrics":
  deployment metrics such as CpuUtilizationPercentage, endpoint metrics such as RequestLatency);
- capacity minimum <= default <= maximum; timeGrain 1 minute to 12 hours; timeWindow 5 minutes to 12 hours;
  cooldown 1 minute to 1 week; a scale action's value 1 or greater; recurrence frequency Week, days Sunday
  through Saturday, hours 0-23, minutes 0-59, a time zone of the spec's list;
- the name: 1-260 characters, none of `<>*%&:\\?/+|#` nor control characters, not ending in a space or period
  (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules, Microsoft.Insights);
- at most 15 tags, keys up to 128 characters, values up to 256 (AutoscaleSettingResource.tags).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from amlops.local.arm import spec
from amlops.local.arm.common import RG, PlaneBase, system_data
from amlops.local.connection import LOCATION
from amlops.local.store import Doc
from amlops.local.web import ArmError, Request, Response, not_found

COLLECTION = RG + "/providers/Microsoft.Insights/autoscalesettings"
KIND = "autoscale"
#: Metrics of online deployments and of online endpoints (how-to-monitor-online-endpoints, "Available metrics").
DEPLOYMENT_METRICS = (
    "CpuUtilizationPercentage",
    "CpuMemoryUtilizationPercentage",
    "DeploymentCapacity",
    "DiskUtilization",
    "GpuUtilizationPercentage",
    "GpuMemoryUtilizationPercentage",
    "GpuEnergyJoules",
)
ENDPOINT_METRICS = (
    "RequestLatency",
    "RequestLatency_P50",
    "RequestLatency_P90",
    "RequestLatency_P95",
    "RequestLatency_P99",
    "RequestsPerMinute",
    "NewConnectionsPerSecond",
    "ConnectionsActive",
    "NetworkBytes",
    "DataCollectionEventsPerMinute",
    "DataCollectionErrorsPerMinute",
)
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_BAD_NAME = re.compile(r"[<>*%&:\\?/+|#\x00-\x1f]")
_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE)
_TARGET = re.compile(
    r"^(?P<ws>/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+)"
    r"/onlineEndpoints/(?P<endpoint>[^/]+)(?:/deployments/(?P<deployment>[^/]+))?$",
    re.IGNORECASE,
)


#: The api-version whose specification is vendored; azure-mgmt-monitor 7.0 calls autoscale settings with it.
API_VERSION = "2022-10-01"


def bad_request(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


class Autoscale(PlaneBase):
    def _setting_id(self, p: dict[str, str], req: Request) -> str:
        version = req.query.get("api-version")
        if version != API_VERSION:
            raise ArmError(
                400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid: the plane serves {API_VERSION}."
            )
        return f"/subscriptions/{p['sub']}/resourceGroups/{p['rg']}/providers/microsoft.insights/autoscalesettings/{p['name']}"

    def list_autoscale(self, req: Request, **p: str) -> Response:
        collection = self._setting_id({**p, "name": ""}, req).rstrip("/")
        return Response.json(200, {"value": self.store.children(collection, KIND)})

    def get_autoscale(self, req: Request, **p: str) -> Response:
        return Response.json(200, self._get(self._setting_id(p, req), KIND, "autoscale setting"))

    def delete_autoscale(self, req: Request, **p: str) -> Response:
        sid = self._setting_id(p, req)
        if self.store.get(sid) is None:
            return Response(204)
        self.store.delete(sid)
        return Response(200)

    def put_autoscale(self, req: Request, **p: str) -> Response:
        name = p["name"]
        if not 1 <= len(name) <= 260 or _BAD_NAME.search(name) or name.endswith((" ", ".")):
            raise bad_request(f"The autoscale setting name '{name}' is invalid.")
        sid = self._setting_id(p, req)
        body = spec.check(req.json(), "AutoscaleSettingResource")
        props = body["properties"]
        _tags(body.get("tags") or {})
        for i, profile in enumerate(props["profiles"]):
            _profile(profile, f"properties.profiles[{i}]")
        target = props.get("targetResourceUri") or ""
        self._resource(target, "deployment", "properties.targetResourceUri")
        for i, profile in enumerate(props["profiles"]):
            for j, rule in enumerate(profile["rules"]):
                self._metric(rule["metricTrigger"], f"properties.profiles[{i}].rules[{j}].metricTrigger")
        other = [
            d["name"]
            for d in self.store.children(sid.rsplit("/", 1)[0], KIND)
            if d["properties"]["targetResourceUri"].lower() == target.lower() and d["name"].lower() != name.lower()
        ]
        if other:
            raise ArmError(409, "Conflict", f"The target resource '{target}' already has autoscale setting '{other[0]}'.")
        existing = self.store.get(sid)
        doc: Doc = {
            "id": sid,
            "name": name,
            "type": "Microsoft.Insights/autoscaleSettings",
            "location": (existing or {}).get("location") or body["location"] or LOCATION,  # x-ms-mutability create, read
            "tags": body.get("tags") or {},
            "properties": {"enabled": True, **props, "name": name, "targetResourceLocation": LOCATION},
            "systemData": system_data(existing),
        }
        self.store.put(sid, KIND, doc)
        return Response.json(201 if existing is None else 200, doc)

    # -- the rules the descriptions state --------------------------------------------------------------
    def _resource(self, resource_id: str, kind: str, where: str) -> dict[str, str]:
        """The endpoint or deployment `resource_id` names, which must exist."""
        m = _TARGET.match(resource_id)
        if m is None or (kind == "deployment" and m["deployment"] is None):
            raise bad_request(f"'{where}' must be the id of an online {kind}: '{resource_id}'.")
        if self.store.get(resource_id) is None:
            raise not_found("resource", resource_id)
        return {k: v for k, v in m.groupdict().items() if v}

    def _metric(self, trigger: dict[str, Any], where: str) -> None:
        """The resource a rule watches exists and has the metric it names."""
        found = self._resource(trigger["metricResourceUri"], "endpoint", f"{where}.metricResourceUri")
        metrics = DEPLOYMENT_METRICS if "deployment" in found else ENDPOINT_METRICS
        if trigger["metricName"] not in metrics:
            whose = "online deployments" if "deployment" in found else "online endpoints"
            raise bad_request(f"Metric '{trigger['metricName']}' is not a metric of {whose} (they have: {', '.join(metrics)}).")


def _profile(profile: dict[str, Any], where: str) -> None:
    capacity = profile["capacity"]
    try:
        low, default, high = (int(capacity[k]) for k in ("minimum", "default", "maximum"))
    except ValueError as exc:
        raise bad_request(f"'{where}.capacity' values must be whole numbers of instances.") from exc
    if not 0 <= low <= default <= high:
        raise bad_request(f"'{where}.capacity' needs minimum ({low}) <= default ({default}) <= maximum ({high}).")
    for i, rule in enumerate(profile["rules"]):
        _rule(rule, f"{where}.rules[{i}]")
    recurrence = profile.get("recurrence")
    if recurrence is not None:
        _recurrence(recurrence, f"{where}.recurrence")


def _rule(rule: dict[str, Any], where: str) -> None:
    trigger, action = rule["metricTrigger"], rule["scaleAction"]
    _between(trigger["timeGrain"], timedelta(minutes=1), timedelta(hours=12), f"{where}.metricTrigger.timeGrain")
    _between(trigger["timeWindow"], timedelta(minutes=5), timedelta(hours=12), f"{where}.metricTrigger.timeWindow")
    _between(action["cooldown"], timedelta(minutes=1), timedelta(weeks=1), f"{where}.scaleAction.cooldown")
    value = str(action.get("value") or "1")
    if not value.isdigit() or int(value) < 1:
        raise bad_request(f"'{where}.scaleAction.value' must be 1 or greater: '{value}'.")


def _between(text: str, low: timedelta, high: timedelta, where: str) -> None:
    m = _DURATION.match(text or "")
    if m is None or not any(m.groups()):
        raise bad_request(f"'{where}' is not an ISO 8601 duration: '{text}'.")
    weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
    length = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not low <= length <= high:
        raise bad_request(f"'{where}' must be between {low} and {high}: '{text}'.")


def _recurrence(recurrence: dict[str, Any], where: str) -> None:
    if recurrence["frequency"] != "Week":
        raise bad_request(f"'{where}.frequency' must be Week: '{recurrence['frequency']}'.")
    schedule = recurrence["schedule"]
    if schedule["timeZone"] not in spec.vendored(spec.AUTOSCALE_SPEC_FILE)["timeZones"]:
        raise bad_request(f"'{where}.schedule.timeZone' is not a supported time zone: '{schedule['timeZone']}'.")
    wrong = [d for d in schedule["days"] if d not in DAYS]
    hours = [h for h in schedule["hours"] if not 0 <= h <= 23]
    minutes = [m for m in schedule["minutes"] if not 0 <= m <= 59]
    if wrong or hours or minutes or not schedule["days"]:
        raise bad_request(
            f"'{where}.schedule' has days Sunday-Saturday, hours 0-23, minutes 0-59: {wrong or hours or minutes or 'no days'}."
        )


def _tags(tags: dict[str, str]) -> None:
    if len(tags) > 15 or any(len(k) > 128 or len(str(v)) > 256 for k, v in tags.items()):
        raise bad_request("At most 15 tags, keys up to 128 characters and values up to 256, can be provided for a resource.")
