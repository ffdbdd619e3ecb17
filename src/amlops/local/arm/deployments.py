"""Online deployments: provisioning through the serving supervisor, restore after a restart, the
serving spec (model, code, environment as local files and pip requirements), and logs."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from amlops.local import promptflow
from amlops.local.arm.collection import DataCollection
from amlops.local.arm.common import BUSY, RESOURCE_NAME
from amlops.local.arm.endpoints import Endpoints
from amlops.local.environments import requirements_from_conda
from amlops.local.serving import ProvisionError, ServingSpec, with_server
from amlops.local.store import Doc
from amlops.local.web import ArmError, Request, Response


class Deployments(Endpoints, DataCollection):
    def list_deployments(self, req: Request, **p: str) -> Response:
        eid = self.endpoint_id(p)
        self._get(eid, "endpoint", "online endpoint")
        return Response.json(200, {"value": self.store.children(eid + "/deployments", "deployment")})

    def get_deployment(self, req: Request, **p: str) -> Response:
        eid = self.endpoint_id(p)
        return Response.json(200, self._get(f"{eid}/deployments/{p['deployment']}", "deployment", "deployment"))

    def put_deployment(self, req: Request, **p: str) -> Response:
        eid = self.endpoint_id(p)
        self._get(eid, "endpoint", "online endpoint")
        name = p["deployment"]
        if not RESOURCE_NAME.match(name):
            raise ArmError(
                400,
                "BadArgument",
                f"Deployment name '{name}' is invalid: 3-32 characters, letters, digits and '-', starting with a letter.",
            )
        did = f"{eid}/deployments/{name}"
        body, existing, props = self._merge_put(req, did, "deployment", name, "OnlineDeployment")
        props.setdefault("endpointComputeType", "Managed")
        props.setdefault("scaleSettings", {"scaleType": "Default"})
        props.setdefault("requestSettings", {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1})
        props.setdefault("appInsightsEnabled", False)
        props["provisioningState"] = "Updating" if existing else "Creating"
        sku = {
            "name": "Default",
            "tier": "Standard",
            "capacity": 1,
            **((existing or {}).get("sku") or {}),
            **(body.get("sku") or {}),
        }
        self._resolve_model(props.get("model"), did)  # fail fast: 404 for a model that does not exist
        self._refuse_flow_unless_enabled(props, did)
        self.register_collections(did, props)
        doc = self._put_doc(did, "onlineEndpoints/deployments", body, existing, sku=sku, properties=props)
        if existing is None:  # nothing of an earlier deployment of this name carries over, logs included
            self.supervisor.forget(self.serving_key(did))
        self.store.put(did, "deployment", doc)
        return self._long_running(req, did, "deployment", lambda: self._provision(did), created=existing is None)

    def delete_deployment(self, req: Request, **p: str) -> Response:
        eid = self.endpoint_id(p)
        endpoint = self._get(eid, "endpoint", "online endpoint")
        did = f"{eid}/deployments/{p['deployment']}"
        doc = self._get(did, "deployment", "deployment")
        name = doc["name"]
        live = {
            k.lower(): v
            for k, v in {**endpoint["properties"].get("traffic", {}), **endpoint["properties"].get("mirrorTraffic", {})}.items()
        }
        if live.get(name.lower()):
            raise ArmError(
                400,
                "BadArgument",
                f"Deployment '{name}' receives {live[name.lower()]}% of traffic and cannot be deleted;"
                " set its traffic to 0 first.",
            )
        doc["properties"]["provisioningState"] = "Deleting"
        self.store.put(did, "deployment", doc)

        def work() -> None:
            time.sleep(self.faults.provisioning_delay(self.provisioning_delay))
            self.supervisor.stop(self.serving_key(did))
            self.supervisor.forget(self.serving_key(did))
            self.store.delete(did)

        return self._long_running(req, did, "deployment", work, deleting=True)

    def deployment_logs(self, req: Request, **p: str) -> Response:
        did = f"{self.endpoint_id(p)}/deployments/{p['deployment']}"
        self._get(did, "deployment", "deployment")
        tail = self._body(req, "DeploymentLogsRequest").get("tail")
        return Response.json(200, {"content": self.supervisor.read_log(self.serving_key(did), int(tail) if tail else None)})

    def _provision(self, did: str) -> None:
        time.sleep(self.faults.provisioning_delay(self.provisioning_delay, deployment=True))
        failure = self.faults.take_deployment_failure()
        if failure:
            self.supervisor.log(self.serving_key(did), failure)
            raise ProvisionError(failure)
        doc = self._get(did, "deployment", "deployment")
        self.supervisor.provision(self.serving_spec(doc))

    def serving_spec(self, doc: Doc) -> ServingSpec:
        """Resolve a deployment's model, code and environment to local files and pip requirements."""
        props = doc["properties"]
        key = self.serving_key(doc["id"])
        model = self._resolve_model(props.get("model"), doc["id"])
        model_path = self.local_path(model["properties"]["modelUri"], model["id"]) if model else None
        if model is not None and (model_path is None or not model_path.exists()):
            raise ProvisionError(f"The files of model {model['id']} are not in local storage.")
        code = props.get("codeConfiguration") or {}
        code_dir = None
        if code.get("codeId"):
            code_doc = self._get_by_ref(code["codeId"], "codes-version", "code version", doc["id"])
            code_dir = self.local_path(code_doc["properties"]["codeUri"], doc["id"])
        requirements: list[str] = []
        dropped: list[str] = []
        if props.get("environmentId"):
            env_doc = self._get_by_ref(props["environmentId"], "environments-version", "environment", doc["id"])
            if promptflow.is_flow_environment(env_doc["properties"]):
                return self._flow_spec(doc, env_doc["properties"], model, model_path)
            requirements, dropped = requirements_from_conda(env_doc["properties"].get("condaFile"))
        mlflow = None
        if (
            model_path is not None
            and model is not None
            and model["properties"].get("modelType") == "mlflow_model"
            and not code_dir
        ):
            mlflow = mlflow_config(model_path)
            if not props.get("environmentId"):
                conda = model_path / mlflow.pop("conda_file") if mlflow.get("conda_file") else None
                requirements, dropped = requirements_from_conda(conda.read_text() if conda and conda.exists() else None)
                requirements = requirements or ["scikit-learn"]
            mlflow.pop("conda_file", None)
        name, version = (model["id"].split("/")[-3], model["name"]) if model else ("model", "1")
        return ServingSpec(
            key=key,
            requirements=tuple(with_server(requirements)),
            model_path=model_path,
            model_name=name,
            model_version=version,
            code_dir=code_dir,
            scoring_script=code.get("scoringScript"),
            mlflow_config=mlflow,
            environment_variables={str(k): str(v) for k, v in (props.get("environmentVariables") or {}).items()},
            dropped=tuple(dropped),
            collection=self.collection_spec(doc),
        )

    def _refuse_flow_unless_enabled(self, props: dict[str, Any], did: str) -> None:
        """A flow deployment without the prompt flow extra: refused at once, changing nothing (this is the
        local control plane's limit, not Azure's, so it says how to lift it rather than fail later)."""
        if not props.get("environmentId") or promptflow.enabled():
            return
        env_doc = self._get_by_ref(props["environmentId"], "environments-version", "environment", did)
        if promptflow.is_flow_environment(env_doc["properties"]):
            raise ArmError(400, "PromptFlowNotEnabled", promptflow.DISABLED)

    def _flow_spec(self, doc: Doc, environment: dict[str, Any], model: Doc | None, model_path: Path | None) -> ServingSpec:
        """A deployment on the prompt flow runtime image: promptflow's app serving the model's flow folder."""
        try:
            flow = promptflow.check_flow(environment, model, model_path)
        except promptflow.FlowError as exc:
            self.supervisor.log(self.serving_key(doc["id"]), str(exc))
            raise ProvisionError(str(exc)) from exc
        assert model is not None  # check_flow refuses a deployment without one
        return ServingSpec(
            key=self.serving_key(doc["id"]),
            requirements=promptflow.RUNTIME_REQUIREMENTS,
            model_path=flow,
            model_name=model["id"].split("/")[-3],
            model_version=model["name"],
            environment_variables={str(k): str(v) for k, v in (doc["properties"].get("environmentVariables") or {}).items()},
            serves_flow=True,
            readiness_path=promptflow.readiness_path(environment),
        )

    def _resolve_model(self, ref: str | None, context_id: str) -> Doc | None:
        if not ref:
            return None
        return self._get_by_ref(ref, "models-version", "model", context_id)

    # -- after a restart ----------------------------------------------------------------------------------
    def resume(self) -> list[threading.Thread]:
        """After a restart: bring back deployments that were serving or being provisioned (returns the
        threads doing so), finish interrupted deletions, and settle operations clients may still poll."""
        for endpoint in self.store.of_kind("endpoint"):
            state = endpoint["properties"]["provisioningState"]
            if state == "Deleting":
                self.store.delete(endpoint["id"])
            elif state in BUSY:
                self._set_state(endpoint["id"], "endpoint", "Succeeded")
        threads = []
        for dep in self.store.of_kind("deployment"):
            state = dep["properties"]["provisioningState"]
            if state == "Deleting":
                self.supervisor.forget(self.serving_key(dep["id"]))
                self.store.delete(dep["id"])
            elif state in ("Succeeded", "Creating", "Updating"):
                thread = threading.Thread(target=self._restore, args=(dep["id"],), name="restore", daemon=True)
                thread.start()
                threads.append(thread)
        self._settle_operations()
        return threads

    def _restore(self, did: str) -> None:
        try:
            self.supervisor.provision(self.serving_spec(self._get(did, "deployment", "deployment")))
            self._set_state(did, "deployment", "Succeeded")
        except (ProvisionError, ArmError) as exc:
            self._set_state(did, "deployment", "Failed", str(exc))
        self._settle_operations()


def mlflow_config(model_path: Path) -> dict[str, Any]:
    """What the generated MLflow scoring script needs, read from the MLmodel file."""
    mlmodel = model_path / "MLmodel" if model_path.is_dir() else None
    if mlmodel is None or not mlmodel.exists():
        raise ProvisionError("An mlflow_model needs an MLmodel file at the root of its folder.")
    doc = YAML(typ="safe").load(mlmodel.read_text()) or {}
    flavors = doc.get("flavors") or {}
    pyfunc = flavors.get("python_function") or {}
    columns = None
    signature = (doc.get("signature") or {}).get("inputs")
    if signature:
        columns = [c.get("name") for c in json.loads(signature) if c.get("name")] or None
    conda = (pyfunc.get("env") or {}).get("conda") if isinstance(pyfunc.get("env"), dict) else pyfunc.get("env")
    config: dict[str, Any] = {"folder": model_path.name, "columns": columns, "conda_file": conda}
    if "sklearn" in flavors:
        config.update(
            flavor="sklearn",
            pickled_model=flavors["sklearn"].get("pickled_model", "model.pkl"),
            serialization_format=flavors["sklearn"].get("serialization_format", "pickle"),
        )
    elif pyfunc:
        config.update(flavor="python_function")
    else:
        raise ProvisionError(f"MLflow flavors {sorted(flavors)} cannot be served locally.")
    return config
