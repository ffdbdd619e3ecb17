"""Batch endpoints and their deployments, and invoking them: an invocation is a job (tagged
`azureml.batchrun`, one child step `batchscoring` whose output `score` holds the results, which is where
`jobs.download` looks) run by the same runner as any job.

A model deployment runs `batch_driver.py.txt` in the deployment's environment: the scoring script's
`init()` once, then `run(mini_batch)` over the input files `mini_batch_size` at a time, appending what
it returns to `predictions.csv` (`output_action: append_row`, `output_file_name`); an MLflow model
without a script has its rows predicted CSV file by CSV file, as Azure's generated MLflow driver does.
A pipeline-component deployment runs its component as a pipeline job with the invocation's inputs.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import replace
from importlib.resources import files

from amlops.local.arm.common import PROVIDER, RESOURCE_NAME, system_data
from amlops.local.arm.deployments import Deployments, mlflow_config
from amlops.local.arm.history import History
from amlops.local.arm.jobs import _Spec, strip_azureml
from amlops.local.environments import requirements_from_conda
from amlops.local.jobs.runner import Run
from amlops.local.store import Doc
from amlops.local.web import ArmError, Request, Response


class Batch(History, Deployments):
    def batch_endpoint_id(self, p: dict[str, str]) -> str:
        return f"{self.workspace(p)['id']}/batchEndpoints/{p['endpoint']}"

    # -- endpoints ---------------------------------------------------------------------------------------
    def list_batch_endpoints(self, req: Request, **p: str) -> Response:
        return Response.json(200, {"value": self.store.children(self.workspace(p)["id"] + "/batchEndpoints", "batch-endpoint")})

    def get_batch_endpoint(self, req: Request, **p: str) -> Response:
        return Response.json(200, self._get(self.batch_endpoint_id(p), "batch-endpoint", "batch endpoint"))

    def put_batch_endpoint(self, req: Request, **p: str) -> Response:
        name = p["endpoint"]
        if not RESOURCE_NAME.match(name):
            raise ArmError(400, "BadArgument", f"Endpoint name '{name}' is invalid: 3-32 characters, letters, digits and '-'.")
        eid = self.batch_endpoint_id(p)
        body, existing, props = self._merge_put(req, eid, "batch endpoint", name, "BatchEndpoint")
        props["defaults"] = props.get("defaults") or {"deploymentName": None}  # Azure answers the field, null at first
        default = props["defaults"].get("deploymentName")
        if default and self.store.get(f"{eid}/deployments/{default}") is None:
            raise ArmError(400, "BadArgument", f"Default deployment '{default}' does not exist on batch endpoint '{name}'.")
        guid = self.workspace(p)["properties"]["workspaceId"]
        props.update(
            authMode=props.get("authMode") or "AADToken",
            scoringUri=f"{self.base_url}/batchEndpoints/{guid}/{name}/jobs",
            swaggerUri=None,
            provisioningState="Succeeded",
        )
        doc = self._put_doc(eid, "batchEndpoints", body, existing, properties=props)
        doc["kind"] = body.get("kind") or "Default"
        self.store.put(eid, "batch-endpoint", doc)
        return Response.json(200 if existing else 201, doc)

    def delete_batch_endpoint(self, req: Request, **p: str) -> Response:
        eid = self.batch_endpoint_id(p)
        self._get(eid, "batch-endpoint", "batch endpoint")
        self.store.delete(eid)
        return Response(200)

    # -- deployments -------------------------------------------------------------------------------------
    def list_batch_deployments(self, req: Request, **p: str) -> Response:
        eid = self.batch_endpoint_id(p)
        self._get(eid, "batch-endpoint", "batch endpoint")
        return Response.json(200, {"value": self.store.children(eid + "/deployments", "batch-deployment")})

    def get_batch_deployment(self, req: Request, **p: str) -> Response:
        did = f"{self.batch_endpoint_id(p)}/deployments/{p['deployment']}"
        return Response.json(200, self._get(did, "batch-deployment", "batch deployment"))

    def put_batch_deployment(self, req: Request, **p: str) -> Response:
        eid = self.batch_endpoint_id(p)
        self._get(eid, "batch-endpoint", "batch endpoint")
        name = p["deployment"]
        if not RESOURCE_NAME.match(name):
            raise ArmError(400, "BadArgument", f"Deployment name '{name}' is invalid: 3-32 characters, letters, digits and '-'.")
        did = f"{eid}/deployments/{name}"
        body, existing, props = self._merge_put(req, did, "batch deployment", name, "BatchDeployment")
        ws_id = self.workspace(p)["id"]
        self.cluster(ws_id, props.get("compute"))  # refuse unknown clusters now, as Azure does
        component = _component_id(props)
        if props.get("model"):
            self._resolve_model((props["model"] or {}).get("assetId"), did)
        elif component:
            self._get_by_ref(strip_azureml(component), "components-version", "component", did)
        else:
            raise ArmError(400, "BadArgument", "A batch deployment needs a model or a pipeline component.")
        props["provisioningState"] = "Succeeded"
        doc = self._put_doc(did, "batchEndpoints/deployments", body, existing, properties=props)
        self.store.put(did, "batch-deployment", doc)
        return Response.json(200 if existing else 201, doc)

    def delete_batch_deployment(self, req: Request, **p: str) -> Response:
        eid = self.batch_endpoint_id(p)
        did = f"{eid}/deployments/{p['deployment']}"
        self._get(did, "batch-deployment", "batch deployment")
        endpoint = self._get(eid, "batch-endpoint", "batch endpoint")
        if (endpoint["properties"].get("defaults") or {}).get("deploymentName", "").lower() == p["deployment"].lower():
            raise ArmError(
                400, "BadArgument", f"Deployment '{p['deployment']}' is the endpoint's default; change the default first."
            )
        self.store.delete(did)
        return Response(200)

    # -- invocation --------------------------------------------------------------------------------------
    def invoke_batch(self, req: Request, **p: str) -> Response:
        ws = next((w for w in self.store.of_kind("workspace") if w["properties"]["workspaceId"] == p["guid"]), None)
        if ws is None:
            raise ArmError(404, "ResourceNotFound", f"No workspace {p['guid']}.")
        eid = f"{ws['id']}/batchEndpoints/{p['endpoint']}"
        endpoint = self._get(eid, "batch-endpoint", "batch endpoint")
        name = req.headers.get("azureml-model-deployment") or (endpoint["properties"].get("defaults") or {}).get("deploymentName")
        if not name:
            raise ArmError(400, "BadArgument", f"Batch endpoint '{p['endpoint']}' has no default deployment: name one.")
        deployment = self._get(f"{eid}/deployments/{name}", "batch-deployment", "batch deployment")
        props = dict(req.json().get("properties") or {})
        job_name = props.get("name") or props.get("jobName") or f"batchjob-{uuid.uuid4()}"
        self._ensure_artifact_store(ws)
        if _component_id(deployment["properties"]):
            run, job, records = self._component_invocation(ws, job_name, deployment, props)
        else:
            run, job, records = self._model_invocation(ws, job_name, deployment, props)
        self._submit(job, records, run)
        return Response.json(
            200,
            {
                "id": job["id"],
                "name": job_name,
                "type": "Microsoft.MachineLearningServices/workspaces/batchEndpoints/jobs",
                "properties": {**props, "status": "NotStarted"},
            },
        )

    def _inputs(self, props: Doc) -> dict[str, Doc]:
        """The invocation's inputs: `inputData` as {name: input} or the single {UriFolder|UriFile: input}."""
        data = props.get("inputData") or props.get("InputData") or {}
        return {("input_data" if k in ("UriFolder", "UriFile") else k): v for k, v in data.items()}

    def _batch_job(self, ws: Doc, name: str, jobtype: str, extra: Doc) -> Doc:
        props = {
            "jobType": "Pipeline",
            "displayName": name,
            "experimentName": extra.pop("experimentName", None) or "batch",
            # jobs.download reads a model deployment's results from child `batchscoring`, and a pipeline
            # component's from its named outputs (JobOperations.download: `is_batch_job`)
            "tags": {"azureml.batchrun": "true", "azureml.jobtype": jobtype},
            "status": "NotStarted",
            "properties": {},
            "services": self._services(ws["id"], name),
            **extra,
        }
        return {
            "id": f"{ws['id']}/jobs/{name}",
            "name": name,
            "type": f"{PROVIDER}/workspaces/jobs",
            "properties": props,
            "systemData": system_data(),
        }

    def _model_invocation(self, ws: Doc, job_name: str, deployment: Doc, props: Doc) -> tuple[Run, Doc, list[Doc]]:
        dprops = deployment["properties"]
        inputs = self._inputs(props)
        if len(inputs) != 1:
            raise ArmError(400, "BadArgument", "A model deployment takes one input (a folder or a file).")
        model = self._resolve_model((dprops.get("model") or {}).get("assetId"), deployment["id"])
        assert model is not None
        model_path = self.local_path(model["properties"]["modelUri"], model["id"])
        code = dprops.get("codeConfiguration") or {}
        config: Doc = {
            "model_dir": str(model_path.parent if model_path else ""),
            "mini_batch_size": int(dprops.get("miniBatchSize") or 10),
            "output_file": dprops.get("outputFileName") or "predictions.csv",
            "append_row": (dprops.get("outputAction") or "AppendRow").lower() == "appendrow",
            "scoring_script": code.get("scoringScript"),
        }
        requirements: list[str] | None = None
        if props_env := dprops.get("environmentId"):
            env = self._get_by_ref(strip_azureml(props_env), "environments-version", "environment", deployment["id"])
            requirements = (
                requirements_from_conda(env["properties"].get("condaFile"))[0] if env["properties"].get("condaFile") else None
            )
        if not code.get("codeId"):
            if model["properties"].get("modelType") != "mlflow_model" or model_path is None:
                raise ArmError(400, "BadArgument", "A deployment of a custom_model needs a scoring script.")
            mlflow = mlflow_config(model_path)
            conda = model_path / mlflow.pop("conda_file") if mlflow.get("conda_file") else None
            config["mlflow"] = {**mlflow, "folder": str(model_path)}
            if requirements is None:
                requirements = requirements_from_conda(conda.read_text() if conda and conda.exists() else None)[0] or [
                    "scikit-learn",
                    "pandas",
                ]
        folder = self.supervisor.state_dir / "batch" / job_name
        folder.mkdir(parents=True, exist_ok=True)
        for script in ("batch_driver.py", "mlflow_score.py"):
            (folder / script).write_text(files("amlops.local").joinpath(f"{script}.txt").read_text())
        (folder / "config.json").write_text(json.dumps(config))
        spec = _Spec(
            "batchscoring",
            f"python {folder / 'batch_driver.py'} {folder / 'config.json'} ${{{{inputs.input_data}}}} ${{{{outputs.score}}}}",
            code.get("codeId"),
            None,
            inputs,
            {"score": {"jobOutputType": "uri_folder"}},
            dprops.get("compute"),
            {str(k): str(v) for k, v in (dprops.get("environmentVariables") or {}).items()},
        )
        child = str(uuid.uuid4())
        step, outputs = self._step(ws, child, "batchscoring", spec, ())
        records: list[Doc] = []
        if requirements is not None:
            step = replace(step, requirements=tuple(requirements))
        records.append(self._record(ws, child, job_name, {"displayName": "batchscoring"}, step, outputs, "azureml.StepRun"))
        records.append(self._record(ws, job_name, None, {"displayName": job_name}, None, {}, "azureml.PipelineRun"))
        records[-1]["logFiles"] = {
            "logs/azureml/executionlogs.txt": f"ExperimentRun/dcid.{job_name}/logs/azureml/executionlogs.txt"
        }
        job = self._batch_job(ws, job_name, "azureml.batchjob", {"jobs": {}, "inputs": {}, "outputs": {}})
        log = self._artifact_path(ws, job_name, "logs/azureml/executionlogs.txt")
        return Run(ws["id"], job_name, (step,), True, log), job, records

    def _component_invocation(self, ws: Doc, job_name: str, deployment: Doc, props: Doc) -> tuple[Run, Doc, list[Doc]]:
        dprops = deployment["properties"]
        ref = strip_azureml(_component_id(dprops) or "")
        spec = self._get_by_ref(ref, "components-version", "component", deployment["id"])["properties"]["componentSpec"]
        settings = (dprops.get("deploymentConfiguration") or {}).get("settings") or {}
        pipeline = {
            "jobType": "Pipeline",
            "jobs": spec.get("jobs") or {},
            "inputs": {k: _as_input(v) for k, v in self._inputs(props).items()},
            "outputs": {k: {"jobOutputType": v.get("type", "uri_folder")} for k, v in (spec.get("outputs") or {}).items()},
            "settings": {"default_compute": settings.get("default_compute") or dprops.get("compute")},
        }
        run, records = self._plan(ws, job_name, pipeline)
        job = self._batch_job(ws, job_name, "azureml.pipelinejob", {k: v for k, v in pipeline.items() if k != "jobType"})
        return run, job, records


def _component_id(props: Doc) -> str | None:
    """The pipeline component a deployment runs (`deploymentConfiguration.componentId.assetId`, type PipelineComponent)."""
    config = props.get("deploymentConfiguration") or {}
    if config.get("deploymentConfigurationType") != "PipelineComponent":
        return None
    return (config.get("componentId") or {}).get("assetId")


def _as_input(value: Doc) -> Doc:
    """A batch invocation's input (the batch data plane's `UriFolder`/`UriFile`/`Literal` types, or a bare
    literal) as a pipeline job input (`uri_folder`/`uri_file`/`literal`)."""
    if not isinstance(value, dict):
        return {"jobInputType": "literal", "value": str(value)}
    kind = str(value.get("jobInputType") or "literal")
    return {**value, "jobInputType": re.sub(r"(?<!^)([A-Z])", r"_\1", kind).lower()}
