"""Schedules (`workspaces/{ws}/schedules/{name}`, REST api-version 2025-12-01): job schedules and model
monitors, fired by the control plane's scheduler at their trigger's times, in their time zone.

Rules kept from Azure (sources: the REST spec's Schedule definitions, vendored; how-to-schedule-pipeline-job;
concept-model-monitoring):
- a body the spec refuses is 400 InvalidRequestContent; so is a cron expression that does not parse, a time
  zone Azure does not know, an interval below 1, and a start or end time that is not ISO 8601;
- `isEnabled` defaults to true; only enabled schedules fire; a schedule that reaches its `endTime` stops;
- a job a schedule starts is named by the service, its display name `<schedule>-<YYYYMMDDThhmmssZ>` (how
  triggered jobs are found, "az ml job list --query [?contains(display_name, ...)]"), and `${{name}}` and
  `${{creation_context.trigger_time}}` in its definition are the run's name and the trigger time. The plane
  also records the schedule in the run's properties (`azureml.ScheduleName`, this plane's, for `amlops runs`);
- `POST .../schedules/{name}/trigger` (api-version 2024-01-01-preview, `ml_client.schedules.trigger`) fires
  one now, which is how tests make time pass without an admin route;
- azure-ai-ml 1.35 writes a monitor's signals in the 2023-06-01-preview contract whatever api-version it sends
  (its entities/_monitoring/input_data.py: "the migration pins api-version 2023-06-01-preview, whose service
  contract still expects inputDataType Trailing"; signals.py adds each signal's `mode`): those two spellings,
  `inputDataType: Trailing` (2025-12-01's `Rolling`) and a signal's `mode` (`Enabled`/`Disabled`), are
  checked as their 2025-12-01 counterparts and kept as sent; every other member is checked as the spec says;
- a model monitor runs as a pipeline job of its own: over the signal's production data (collected JSONL) and
  reference data, it computes the signal's metrics (local/monitoring.py) and writes, as the job's output
  `signals`, one `<signal>.json` per signal: metrics, values, thresholds and whether each breached. The
  local plane computes DataDrift, PredictionDrift and DataQuality signals and refuses others at create.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from amlops.local.arm import spec
from amlops.local.arm.common import PROVIDER, now_iso, system_data
from amlops.local.arm.history import History
from amlops.local.arm.jobs import strip_azureml
from amlops.local.monitor_data import production, reference
from amlops.local.monitoring import evaluate
from amlops.local.scheduling import TriggerError, check, next_fire
from amlops.local.store import Doc
from amlops.local.web import ArmError, Request, Response

SCHEDULE_PROPERTY = "azureml.ScheduleName"
LOCAL_SIGNALS = ("DataDrift", "PredictionDrift", "DataQuality")
TICK_SECONDS = 1.0


class Schedules(History):
    _scheduler_stop: threading.Event
    _next: dict[str, datetime]

    # -- routes -------------------------------------------------------------------------------------------
    def list_schedules(self, req: Request, **p: str) -> Response:
        view = (req.query.get("listViewType") or "EnabledOnly").lower()
        docs = self.store.children(self.workspace(p)["id"] + "/schedules", "schedule")
        if view != "all":
            docs = [d for d in docs if d["properties"].get("isEnabled", True) == (view == "enabledonly")]
        return Response.json(200, {"value": docs})

    def get_schedule(self, req: Request, **p: str) -> Response:
        return Response.json(200, self._get(f"{self.workspace(p)['id']}/schedules/{p['name']}", "schedule"))

    def put_schedule(self, req: Request, **p: str) -> Response:
        ws = self.workspace(p)
        rid = f"{ws['id']}/schedules/{p['name']}"
        sent = req.json() or {}
        spec.check(_as_2025(copy.deepcopy(sent)), "Schedule")  # 400 InvalidRequestContent for anything else
        props = {k: v for k, v in (sent.get("properties") or {}).items() if k != "provisioningState"}
        try:
            check(props.get("trigger") or {})
        except TriggerError as exc:
            raise ArmError(400, "InvalidRequestContent", f"properties.trigger: {exc}") from exc
        action = props.get("action") or {}
        if str(action.get("actionType")).lower() == "createmonitor":
            signals = (action.get("monitorDefinition") or {}).get("signals") or {}
            for name, signal in signals.items():
                if signal.get("signalType") not in LOCAL_SIGNALS:
                    raise ArmError(
                        400, "UserError", f"signal {name}: the local control plane computes {', '.join(LOCAL_SIGNALS)}."
                    )
        elif str(action.get("actionType")).lower() != "createjob":
            raise ArmError(400, "UserError", "the local control plane schedules CreateJob and CreateMonitor actions.")
        existing = self.store.get(rid)
        props.setdefault("isEnabled", True)
        props["provisioningState"] = "Succeeded"
        doc = {"id": rid, "name": p["name"], "type": f"{PROVIDER}/workspaces/schedules", "properties": props}
        doc["systemData"] = system_data(existing)
        self.store.put(rid, "schedule", doc)
        self._next.pop(rid, None)  # the trigger may have changed: computed again from now
        return Response.json(200 if existing else 201, doc)

    def delete_schedule(self, req: Request, **p: str) -> Response:
        rid = f"{self.workspace(p)['id']}/schedules/{p['name']}"
        self._get(rid, "schedule")
        self.store.delete(rid)
        self._next.pop(rid, None)
        return Response(200, b"")

    def trigger_schedule(self, req: Request, **p: str) -> Response:
        doc = self._get(f"{self.workspace(p)['id']}/schedules/{p['name']}", "schedule")
        when = str((req.json() or {}).get("scheduleTime") or now_iso())
        name = self.fire(doc, datetime.fromisoformat(when.replace("Z", "+00:00")))
        kind = "CreateMonitor" if _is_monitor(doc) else "CreateJob"
        return Response.json(200, {"submissionId": name, "scheduleActionType": kind})

    # -- the scheduler ------------------------------------------------------------------------------------
    def start_scheduler(self) -> threading.Thread:
        """A thread that fires each enabled schedule at its trigger's times, until `stop_scheduler`."""
        thread = threading.Thread(target=self._schedule_loop, name="scheduler", daemon=True)
        thread.start()
        return thread

    def stop_scheduler(self) -> None:
        self._scheduler_stop.set()

    def _schedule_loop(self) -> None:
        while not self._scheduler_stop.wait(TICK_SECONDS):
            self.tick(datetime.now(UTC))

    def tick(self, now: datetime) -> list[str]:
        """Fire what is due at `now`; returns the runs started."""
        started = []
        for doc in self.store.of_kind("schedule"):
            props = doc["properties"]
            if not props.get("isEnabled", True):
                continue
            due = self._next.get(doc["id"])
            if due is None:
                created = datetime.fromisoformat(doc["systemData"]["createdAt"].replace("Z", "+00:00"))
                due = next_fire(props["trigger"], now, created)
                if due is None:
                    continue
                self._next[doc["id"]] = due
            if due <= now:
                started.append(self.fire(doc, due))
                created = datetime.fromisoformat(doc["systemData"]["createdAt"].replace("Z", "+00:00"))
                following = next_fire(props["trigger"], now, created)
                if following is None:
                    self._next.pop(doc["id"], None)
                else:
                    self._next[doc["id"]] = following
        return started

    def fire(self, schedule: Doc, when: datetime) -> str:
        """Start the run the schedule carries, for the trigger time `when`; returns its name."""
        ws = self.store.get(schedule["id"].rsplit("/schedules/", 1)[0])
        assert ws is not None, "a schedule lives in a workspace"
        stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{schedule['name']}-{stamp}-{secrets.token_hex(3)}".lower().replace(".", "-")
        display = f"{schedule['name']}-{stamp}"
        if _is_monitor(schedule):
            self._run_monitor(ws, schedule, name, display)
            return name
        text = json.dumps(schedule["properties"]["action"]["jobDefinition"])
        text = text.replace("${{name}}", name).replace("${{creation_context.trigger_time}}", when.isoformat())
        props = json.loads(text)
        props["displayName"] = display
        props["properties"] = {**(props.get("properties") or {}), SCHEDULE_PROPERTY: schedule["name"]}
        self._ensure_artifact_store(ws)
        run, records = self._plan(ws, name, props)
        props.update(status="NotStarted", services=self._services(ws["id"], name))
        job = {"id": f"{ws['id']}/jobs/{name}", "name": name, "type": f"{PROVIDER}/workspaces/jobs", "properties": props}
        self._submit({**job, "systemData": system_data()}, records, run)
        return name

    # -- model monitors ---------------------------------------------------------------------------------
    def _run_monitor(self, ws: Doc, schedule: Doc, name: str, display: str) -> None:
        """A pipeline job that computes the monitor's signals; its output `signals` holds the results."""
        uri = f"azureml://datastores/workspaceblobstore/paths/azureml/{name}/signals/"
        outputs = {"signals": {"jobOutputType": "uri_folder", "uri": uri, "mode": "ReadWriteMount"}}
        props: Doc = {
            "jobType": "Pipeline",
            "displayName": display,
            "experimentName": schedule["name"],
            "description": f"Model monitor {schedule['name']}",
            "properties": {SCHEDULE_PROPERTY: schedule["name"]},
            "tags": {},
            "jobs": {},
            "inputs": {},
            "outputs": outputs,
            "settings": {},
            "status": "Running",
            "services": self._services(ws["id"], name),
        }
        self._ensure_artifact_store(ws)
        record = self._record(ws, name, None, props, None, {"signals": {"type": "uri_folder", "uri": uri}}, "azureml.PipelineRun")
        record.update(status="Running", startTimeUtc=now_iso())
        job: Doc = {"id": f"{ws['id']}/jobs/{name}", "name": name, "type": f"{PROVIDER}/workspaces/jobs", "properties": props}
        with self.store.transaction():
            self.store.put(job["id"], "job", {**job, "systemData": system_data()})
            self.store.put(f"{ws['id']}/runs/{name}", "run", record)
        definition = schedule["properties"]["action"]["monitorDefinition"]
        threading.Thread(
            target=self._monitor, args=(ws["id"], name, definition, uri), name=f"monitor-{name}", daemon=True
        ).start()

    def _monitor(self, ws_id: str, name: str, definition: Doc, uri: str) -> None:
        try:
            folder = self.local_path(uri, ws_id)
            assert folder is not None, "the default datastore is local"
            folder.mkdir(parents=True, exist_ok=True)
            for signal, wanted in (definition.get("signals") or {}).items():
                results = evaluate(
                    signal,
                    wanted,
                    self._monitor_data(ws_id, wanted, "referenceData"),
                    self._monitor_data(ws_id, wanted, "productionData"),
                )
                doc = {"signal": signal, "signalType": wanted.get("signalType"), "metrics": [r.as_dict() for r in results]}
                (folder / f"{signal}.json").write_text(json.dumps(doc, indent=1))
            self._on_status(ws_id, name, "Completed", None)
        except (ArmError, OSError, ValueError, KeyError) as exc:
            message = exc.message if isinstance(exc, ArmError) else f"{type(exc).__name__}: {exc}"
            self._on_status(ws_id, name, "Failed", {"code": "UserError", "message": message})

    def _monitor_data(self, ws_id: str, spec: Doc, which: str) -> dict[str, list[Any]]:
        data = spec.get(which) or {}
        source = strip_azureml(str(data.get("uri") or ""))
        kind = str(data.get("jobInputType") or "uri_folder")
        path: Path | None = self._asset_path(source, ws_id, "data-version") if source else None
        if path is None or not path.exists():
            raise ArmError(400, "UserError", f"{which}: no data at '{data.get('uri')}'.")
        if which == "referenceData":
            return reference(path, kind)
        columns = production(path, data.get("windowOffset"), data.get("windowSize"))
        if not columns:
            raise ArmError(400, "UserError", f"{which}: no collected rows in the window under '{data.get('uri')}'.")
        return columns


def _as_2025(body: Doc) -> Doc:
    """The 2023-06-01-preview spellings azure-ai-ml sends in a monitor, as 2025-12-01 names them."""
    action = (body.get("properties") or {}).get("action") or {}
    for signal in ((action.get("monitorDefinition") or {}).get("signals") or {}).values():
        if isinstance(signal, dict):
            if str(signal.get("mode")).lower() in ("enabled", "disabled"):
                signal.pop("mode")
            for key in ("productionData", "referenceData"):
                data = signal.get(key)
                for item in data if isinstance(data, list) else [data]:
                    if isinstance(item, dict) and str(item.get("inputDataType")).lower() == "trailing":
                        item["inputDataType"] = "Rolling"
    return body


def _is_monitor(doc: Doc) -> bool:
    return str(doc["properties"]["action"].get("actionType")).lower() == "createmonitor"
