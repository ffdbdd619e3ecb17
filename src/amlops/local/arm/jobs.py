"""Jobs (command and pipeline), run for real by `jobs.runner`: the ARM routes, the resolution of a submitted
job into steps (code, environment, inputs and outputs as local paths, `${{...}}` substituted), the run
records the run history routes answer from (history.py), and outputs registered as assets.

Where files go, as in Azure: outputs under the default datastore at `azureml/<run id>/<output>/`
(`azureml://datastores/workspaceblobstore/paths/azureml/<run id>/<output>/`), logs in the artifact store
(`workspaceartifactstore`, container `azureml`) at `ExperimentRun/dcid.<run id>/user_logs/std_log.txt`,
a pipeline's own log at `.../logs/azureml/executionlogs.txt`.

A job is checked whole before anything is stored: unknown computes, components, environments, code and
inputs, inputs a component requires, and expressions naming nothing are refused with 400.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amlops.local.arm.assets import Assets
from amlops.local.arm.common import PROVIDER, now_iso, storage_account, system_data, workspace_guid
from amlops.local.arm.computes import Computes
from amlops.local.environments import requirements_from_conda
from amlops.local.jobs.expressions import ExpressionError, binding, render
from amlops.local.jobs.runner import TERMINAL, Run, Runner, Step
from amlops.local.store import Doc
from amlops.local.web import ArmError, Request, Response

ARTIFACTS = "workspaceartifactstore"
ARTIFACT_CONTAINER = "azureml"
MODEL_TYPES = ("mlflow_model", "custom_model", "triton_model")
# What may change on a submitted job (Azure's JobBase: tags, description, display name, properties).
MUTABLE = ("tags", "description", "displayName", "properties", "isArchived", "status", "services")
INTERRUPTED = (
    "The local control plane stopped while this job was {status}; the job did not finish (its processes"
    " were stopped). Submit it again."
)


def field_of(doc: Doc, camel: str) -> Any:
    """A REST field under its camelCase name or the snake_case name pipeline nodes use."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return doc.get(camel, doc.get(snake))


def strip_azureml(ref: str) -> str:
    """`azureml:/subscriptions/...` (the SDK's form for ARM ids in specs) -> `/subscriptions/...`."""
    return ref[len("azureml:") :] if ref.startswith("azureml:/") and not ref.startswith("azureml://") else ref


@dataclass(frozen=True)
class _Output:
    path: Path  # what `${{outputs.x}}` becomes
    folder: Path  # created before the step runs
    record: Doc  # kept on the run: {type, uri, assetName, assetVersion}


@dataclass
class _Spec:
    """A command to run, before resolution: from a command job or from a pipeline node and its component."""

    name: str
    command: str
    code: str | None
    environment: str | None
    inputs: dict[str, Any]  # name -> REST input ({jobInputType, uri} / {value}) or a bound value
    outputs: dict[str, Doc]  # name -> REST output
    compute: str | None
    environment_variables: dict[str, str]


class Jobs(Computes, Assets):
    runner: Runner

    def job_runner(self) -> Runner:
        return Runner(self.supervisor.env_cache, self.supervisor.state_dir, self._on_status, self._on_finalize)

    # -- routes -------------------------------------------------------------------------------------------
    def list_jobs(self, req: Request, **p: str) -> Response:
        docs = self.store.children(self.workspace(p)["id"] + "/jobs", "job")
        archived = (req.query.get("listViewType") or "ActiveOnly").lower()
        if archived != "all":
            docs = [d for d in docs if bool(d["properties"].get("isArchived")) == (archived == "archivedonly")]
        return Response.json(200, {"value": docs[::-1]})

    def get_job(self, req: Request, **p: str) -> Response:
        ws_id = self.workspace(p)["id"]
        doc = self.store.get(f"{ws_id}/jobs/{p['name']}")
        if doc is None:
            run = self._get(f"{ws_id}/runs/{p['name']}", "run", "job")
            # A pipeline's step: Azure answers it without properties, and the SDK reads it from run history.
            return Response.json(200, {"id": f"{ws_id}/jobs/{run['runId']}", "name": run["runId"], "properties": None})
        return Response.json(200, doc)

    def put_job(self, req: Request, **p: str) -> Response:
        ws = self.workspace(p)
        jid = f"{ws['id']}/jobs/{p['name']}"
        body = req.json()
        props = dict(body.get("properties") or {})
        existing = self.store.get(jid)
        if existing is not None:
            return Response.json(200, self._update_job(existing, props))
        kind = props.get("jobType")
        if kind not in ("Command", "Pipeline"):
            raise ArmError(400, "UserError", f"jobType {kind!r}: the local control plane runs Command and Pipeline jobs.")
        self._ensure_artifact_store(ws)
        run, records = self._plan(ws, p["name"], props)
        props.update(status="NotStarted", services=self._services(ws["id"], p["name"]))
        doc = {
            "id": jid,
            "name": p["name"],
            "type": f"{PROVIDER}/workspaces/jobs",
            "properties": props,
            "systemData": system_data(),
        }
        self._submit(doc, records, run)
        return Response.json(201, doc)

    def _submit(self, job: Doc, records: list[Doc], run: Run) -> None:
        """Store the job and its run records in one transaction, then start it."""
        ws_id = job["id"].rsplit("/jobs/", 1)[0]
        with self.store.transaction():
            self.store.put(job["id"], "job", job)
            for record in records:
                self.store.put(f"{ws_id}/runs/{record['runId']}", "run", record)
        self.runner.submit(run)

    def cancel_job(self, req: Request, **p: str) -> Response:
        ws_id = self.workspace(p)["id"]
        doc = self._get(f"{ws_id}/jobs/{p['name']}", "job")
        if doc["properties"]["status"] not in TERMINAL:
            self._on_status(ws_id, p["name"], "CancelRequested", None)
            if not self.runner.cancel(p["name"]):  # not running in this process (an interrupted job)
                self._on_status(ws_id, p["name"], "Canceled", None)
            deadline = time.monotonic() + 30
            while self._run(ws_id, p["name"])["status"] not in TERMINAL and time.monotonic() < deadline:
                time.sleep(0.1)
        return Response(200)

    def _update_job(self, existing: Doc, props: Doc) -> Doc:
        """Azure keeps a submitted job as it was; only its metadata may change."""
        old = existing["properties"]
        changed = sorted(k for k in set(props) | set(old) if k not in MUTABLE and props.get(k, old.get(k)) != old.get(k))
        if changed:
            raise ArmError(
                400,
                "UserError",
                f"Job '{existing['name']}' already exists; only its tags, description and display name can change"
                f" (not {', '.join(changed)}).",
            )
        for key in ("tags", "description", "displayName", "properties", "isArchived"):
            if key in props:
                old[key] = props[key]
        existing["systemData"] = system_data(existing)
        self.store.put(existing["id"], "job", existing)
        return existing

    # -- from a job to steps --------------------------------------------------------------------------------
    def _plan(self, ws: Doc, name: str, props: Doc) -> tuple[Run, list[Doc]]:
        """Resolve a job into the steps to run and the run records to store."""
        records: list[Doc] = []
        try:
            if props["jobType"] == "Command":
                spec = _Spec(
                    name,
                    props.get("command") or "",
                    props.get("codeId"),
                    props.get("environmentId"),
                    props.get("inputs") or {},
                    props.get("outputs") or {},
                    props.get("computeId"),
                    props.get("environmentVariables") or {},
                )
                step, outputs = self._step(ws, name, name, spec, ())
                records.append(self._record(ws, name, None, props, step, outputs, "azureml.CommandRun"))
                return Run(ws["id"], name, (step,), False, step.log_path), records
            return self._plan_pipeline(ws, name, props, records), records
        except ExpressionError as exc:
            raise ArmError(400, "UserError", str(exc)) from exc

    def _plan_pipeline(self, ws: Doc, name: str, props: Doc, records: list[Doc]) -> Run:
        nodes: dict[str, Doc] = props.get("jobs") or {}
        default_compute = (props.get("settings") or {}).get("default_compute") or (props.get("settings") or {}).get(
            "defaultCompute"
        )
        run_ids = {key: str(uuid.uuid4()) for key in nodes}
        outputs_of: dict[str, dict[str, str]] = {}  # step -> output -> local path
        step_records: dict[str, dict[str, Doc]] = {}  # step -> output -> record
        steps: list[Step] = []
        parent_outputs: dict[str, Doc] = {}
        for key in _order(nodes):
            node = nodes[key]
            if node.get("type") != "command":
                raise ArmError(400, "UserError", f"jobs.{key}: type {node.get('type')!r} cannot run locally (command only).")
            component = self._component(node, ws["id"], key)
            spec = component["properties"]["componentSpec"]
            inputs = self._bind_inputs(key, node, spec, props.get("inputs") or {}, outputs_of)
            outputs = {o: dict(v or {}) for o, v in (spec.get("outputs") or {}).items()}
            for out_name, out in (node.get("outputs") or {}).items():
                bound = binding(out.get("value")) if isinstance(out, dict) else None
                if bound is not None and bound.scope == "outputs":
                    parent_outputs[bound.name] = {"step": key, "output": out_name}
                elif isinstance(out, dict):
                    outputs[out_name] = {**outputs.get(out_name, {}), **out}
            after = tuple(run_ids[b.step] for b in _bindings(node) if b.step)
            command = _Spec(
                key,
                spec.get("command") or "",
                spec.get("code"),
                spec.get("environment"),
                inputs,
                outputs,
                node.get("computeId") or node.get("compute") or default_compute,
                {**(spec.get("environment_variables") or {}), **(node.get("environment_variables") or {})},
            )
            step, step_outputs = self._step(ws, run_ids[key], key, command, after)
            outputs_of[key] = {o: str(self.local_path(r["uri"], ws["id"])) for o, r in step_outputs.items()}
            step_records[key] = step_outputs
            steps.append(step)
            records.append(self._record(ws, run_ids[key], name, {"displayName": key}, step, step_outputs, "azureml.StepRun"))
        own = {}
        for out_name, out in (props.get("outputs") or {}).items():
            source = parent_outputs.get(out_name)
            if source is not None:  # a pipeline output is the output of the step bound to it
                own[out_name] = {**step_records[source["step"]][source["output"]], **_asset_of(out)}
        record = self._record(ws, name, None, props, None, own, "azureml.PipelineRun")
        record["logFiles"] = {"logs/azureml/executionlogs.txt": f"ExperimentRun/dcid.{name}/logs/azureml/executionlogs.txt"}
        records.append(record)
        return Run(ws["id"], name, tuple(steps), True, self._artifact_path(ws, name, "logs/azureml/executionlogs.txt"))

    def _component(self, node: Doc, ws_id: str, key: str) -> Doc:
        ref = node.get("componentId")
        if not ref:
            raise ArmError(400, "UserError", f"jobs.{key}: no componentId.")
        return self._get_by_ref(strip_azureml(ref), "components-version", "component", ws_id)

    def _bind_inputs(
        self, key: str, node: Doc, spec: Doc, parent_inputs: Doc, outputs_of: dict[str, dict[str, str]]
    ) -> dict[str, Any]:
        """A node's inputs with bindings followed: to parent inputs, or to earlier steps' output paths."""
        declared = spec.get("inputs") or {}
        bound: dict[str, Any] = {}
        for name, value in (node.get("inputs") or {}).items():
            if name not in declared:
                raise ArmError(400, "UserError", f"jobs.{key}.inputs.{name}: the component has no such input.")
            b = binding(field_of(value, "value")) if isinstance(value, dict) else None
            if b is None:
                bound[name] = value
            elif b.scope == "inputs":
                if b.name not in parent_inputs:
                    raise ArmError(400, "UserError", f"jobs.{key}.inputs.{name}: the pipeline has no input '{b.name}'.")
                bound[name] = parent_inputs[b.name]
            elif b.step not in outputs_of or b.name not in outputs_of[b.step]:
                raise ArmError(400, "UserError", f"jobs.{key}.inputs.{name}: no output '{b.name}' of step '{b.step}'.")
            else:
                bound[name] = {"jobInputType": "uri_folder", "localPath": outputs_of[b.step][b.name]}
        for name, decl in declared.items():
            if name not in bound and decl.get("default") is not None:
                bound[name] = {"jobInputType": "literal", "value": str(decl["default"])}
            elif name not in bound and not decl.get("optional"):
                raise ArmError(400, "UserError", f"jobs.{key}.inputs.{name}: required by the component and not given.")
        return bound

    def _step(self, ws: Doc, run_id: str, name: str, spec: _Spec, after: tuple[str, ...]) -> tuple[Step, dict[str, Doc]]:
        """The step to run and its outputs' records ({type, uri, asset name and version})."""
        ws_id = ws["id"]
        cluster = self.cluster(ws_id, spec.compute)
        inputs = {n: self._input_value(v, ws_id, f"{name}.inputs.{n}") for n, v in spec.inputs.items()}
        outputs = self._outputs(ws, run_id, spec.outputs)
        command = render(spec.command, inputs, {n: str(o.path) for n, o in outputs.items()})
        requirements: tuple[str, ...] | None = None
        dropped: list[str] = []
        if spec.environment:
            env = self._get_by_ref(strip_azureml(spec.environment), "environments-version", "environment", ws_id)
            conda = env["properties"].get("condaFile")
            if conda:
                pip, dropped = requirements_from_conda(conda)
                requirements = tuple(pip)
        code_dir = None
        if spec.code:
            code = self._get_by_ref(strip_azureml(spec.code), "codes-version", "code version", ws_id)
            code_dir = self.local_path(code["properties"]["codeUri"], ws_id)
        base = self.supervisor.state_dir / "jobs" / workspace_guid(ws_id) / run_id
        scale = ((cluster or {}).get("properties", {}).get("properties") or {}).get("scaleSettings") or {}
        step = Step(
            run_id=run_id,
            name=name,
            command=command,
            requirements=requirements,
            code_dir=code_dir,
            work_dir=base / "wd",
            log_path=self._artifact_path(ws, run_id, "user_logs/std_log.txt"),
            output_dirs=tuple(o.folder for o in outputs.values()),
            cluster=cluster["id"].lower() if cluster else None,
            max_nodes=int(scale.get("maxNodeCount") or 1),
            after=after,
            environment_variables={str(k): str(v) for k, v in spec.environment_variables.items()},
            dropped=tuple(dropped),
        )
        return step, {n: o.record for n, o in outputs.items()}

    def _input_value(self, value: Any, ws_id: str, where: str) -> str:
        """What `${{inputs.x}}` becomes: a literal's value, or the local path of data, a model or a datastore path."""
        if not isinstance(value, dict):
            return str(value)
        if "localPath" in value:
            return value["localPath"]
        kind = field_of(value, "jobInputType") or value.get("type")
        if kind == "literal" or (kind is None and "value" in value):
            return str(value.get("value"))
        uri = strip_azureml(str(value.get("uri") or value.get("path") or ""))
        path = self._asset_path(uri, ws_id, "models-version" if kind in MODEL_TYPES else "data-version")
        if path is None or not path.exists():
            raise ArmError(
                400,
                "UserError",
                f"{where}: cannot read '{value.get('uri')}' locally (datastore paths, data and model assets only).",
            )
        return str(path)

    def _asset_path(self, uri: str, ws_id: str, kind: str) -> Path | None:
        """The local file or folder behind an input: an asset (ARM id, `azureml:n:v`, registry id) or a storage path."""
        if uri.startswith(("/subscriptions/", "azureml:")) and "/datastores/" not in uri:
            props = self._get_by_ref(uri, kind, kind.split("-")[0], ws_id)["properties"]
            return self.local_path(props.get("dataUri") or props.get("modelUri") or "", ws_id)
        return self.local_path(uri, ws_id)

    def _outputs(self, ws: Doc, run_id: str, outputs: dict[str, Doc]) -> dict[str, _Output]:
        """Where each output goes: its own datastore path, else `azureml/<run id>/<output>/` in the default store."""
        result = {}
        for name, out in outputs.items():
            kind = str(field_of(out, "jobOutputType") or out.get("type") or "uri_folder")
            uri = out.get("uri") or f"azureml://datastores/workspaceblobstore/paths/azureml/{run_id}/{name}/"
            folder = self.local_path(uri, ws["id"])
            if folder is None:
                raise ArmError(400, "UserError", f"outputs.{name}: cannot write to '{uri}' locally (datastore paths only).")
            path = folder / name if kind == "uri_file" and not out.get("uri") else folder
            record = {"type": kind, "uri": uri, **_asset_of(out)}
            result[name] = _Output(path, path.parent if path != folder else folder, record)
        return result

    def _artifact_path(self, ws: Doc, run_id: str, rel: str) -> Path:
        return self.blobs.local_path(storage_account(ws["id"]), ARTIFACT_CONTAINER, f"ExperimentRun/dcid.{run_id}/{rel}")

    def _ensure_artifact_store(self, ws: Doc) -> None:
        """Every Azure ML workspace has `workspaceartifactstore` (container `azureml`) for run logs."""
        ds_id = f"{ws['id']}/datastores/{ARTIFACTS}"
        if self.store.get(ds_id) is None:
            doc = self._datastore_doc(ds_id, storage_account(ws["id"]), ws["properties"]["workspaceId"])
            doc["properties"].update(containerName=ARTIFACT_CONTAINER, isDefault=False, description="Run logs and artifacts.")
            self.store.put(ds_id, "datastore", doc)

    def _services(self, ws_id: str, name: str) -> Doc:
        return {"Studio": {"jobServiceType": "Studio", "endpoint": f"https://ml.azure.com/runs/{name}?wsid={ws_id}"}}

    # -- run records (what run history answers) -------------------------------------------------------------
    def _record(
        self, ws: Doc, run_id: str, parent: str | None, props: Doc, step: Step | None, outputs: dict[str, Doc], run_type: str
    ) -> Doc:
        return {
            "runId": run_id,
            "runUuid": str(uuid.uuid5(uuid.NAMESPACE_URL, run_id)),
            "parentRunId": parent,
            "rootRunId": parent or run_id,
            "experimentId": props.get("experimentName") or "Default",
            "displayName": props.get("displayName") or run_id,
            "description": props.get("description"),
            "status": "NotStarted",
            "createdUtc": now_iso(),
            "startTimeUtc": None,
            "endTimeUtc": None,
            "runType": run_type,
            "tags": props.get("tags") or {},
            "properties": props.get("properties") or {},
            "target": step.cluster.rsplit("/", 1)[-1] if step and step.cluster else "serverless",
            "logFiles": {"user_logs/std_log.txt": f"ExperimentRun/dcid.{run_id}/user_logs/std_log.txt"} if step else {},
            "outputs": outputs,
            "error": None,
            "_workspace": ws["id"],
        }

    def _run(self, ws_id: str, run_id: str) -> Doc:
        return self._get(f"{ws_id}/runs/{run_id}", "run", "run")

    def _on_status(self, ws_id: str, run_id: str, status: str, error: dict[str, str] | None) -> None:
        with self.store.transaction():
            run = self.store.get(f"{ws_id}/runs/{run_id}")
            if run is None or run["status"] in TERMINAL:
                return
            run["status"] = status
            if status == "Running" and not run["startTimeUtc"]:
                run["startTimeUtc"] = now_iso()
            if status in TERMINAL:
                run["endTimeUtc"] = now_iso()
            if error:
                run["error"] = {"error": error}
            self.store.put(f"{ws_id}/runs/{run_id}", "run", run)
            job = self.store.get(f"{ws_id}/jobs/{run_id}")
            if job is not None:
                job["properties"]["status"] = status
                self.store.put(job["id"], "job", job)

    def _on_finalize(self, ws_id: str, run_id: str) -> None:
        """Outputs that declare a name (and version) become data or model assets, as in Azure."""
        for name, out in self._run(ws_id, run_id)["outputs"].items():
            if not out.get("assetName"):
                continue
            kind = str(out.get("type") or "uri_folder").lower()
            assets = "models" if kind in MODEL_TYPES else "data"
            version = out.get("assetVersion") or self._next_version(ws_id, assets, out["assetName"])
            props: Doc = (
                {"modelType": kind, "modelUri": out["uri"], "jobName": run_id}
                if assets == "models"
                else {"dataType": kind, "dataUri": out["uri"]}
            )
            props["description"] = f"Output '{name}' of job {run_id}."
            self._write_version(ws_id, assets, out["assetName"], str(version), props)

    def _next_version(self, ws_id: str, assets: str, name: str) -> str:
        container = self.store.get(f"{ws_id}/{assets}/{name}")
        return (container or {}).get("properties", {}).get("nextVersion") or "1"

    # -- lifecycle ------------------------------------------------------------------------------------------
    def fail_interrupted_jobs(self) -> None:
        """A job this process is not running will never finish: mark it Failed, saying why."""
        for run in self.store.of_kind("run"):
            if run["status"] not in TERMINAL:
                message = INTERRUPTED.format(status=run["status"])
                self._on_status(run["_workspace"], run["runId"], "Failed", {"code": "ServiceError", "message": message})

    def stop_jobs(self) -> None:
        """On shutdown: stop every job's processes and record that the jobs were interrupted."""
        self.runner.stop_all()
        self.fail_interrupted_jobs()


def _bindings(node: Doc) -> list[Any]:
    values = [field_of(v, "value") if isinstance(v, dict) else v for v in (node.get("inputs") or {}).values()]
    return [b for b in (binding(v) for v in values) if b is not None]


def _order(nodes: dict[str, Doc]) -> list[str]:
    """Steps in an order where each comes after the steps whose outputs it reads; a cycle is refused."""
    done: list[str] = []
    pending = dict(nodes)
    while pending:
        ready = [k for k, n in pending.items() if all(b.step in done for b in _bindings(n) if b.step)]
        if not ready:
            missing = {b.step for n in pending.values() for b in _bindings(n) if b.step and b.step not in nodes}
            what = f"unknown steps {sorted(missing)}" if missing else f"a cycle among {sorted(pending)}"
            raise ArmError(400, "UserError", f"Pipeline jobs cannot be ordered: {what}.")
        for k in ready:
            done.append(k)
            pending.pop(k)
    return done


def _asset_of(out: Doc) -> Doc:
    name = field_of(out, "assetName") or out.get("name")
    version = field_of(out, "assetVersion") or out.get("version")
    return {k: v for k, v in (("assetName", name), ("assetVersion", version)) if v}
