"""The workspace's data-plane services the SDK reaches through the discovery document: run history (a
job's status, logs, children and outputs, what `jobs.stream`, `jobs.download` and
`jobs.list(parent_job_name=...)` read) and the data and model registries' URI resolution.

Base URLs come from `GET <workspace discoveryUrl>` (`{"api": ...}`); each service keeps Azure's path
prefix under it (`/history/v1.0`, `/data/v1.0`, `/modelregistry/v1.0`)."""

from __future__ import annotations

import re

from amlops.local.arm.common import storage_account
from amlops.local.arm.jobs import ARTIFACT_CONTAINER, Jobs
from amlops.local.connection import LOCATION
from amlops.local.store import Doc
from amlops.local.web import ArmError, Request, Response

# run history names output types as the SDK's TypedAssetReference expects (azure/ai/ml/operations/_job_ops_helper.py)
_TYPED = {"mlflow_model": "MLFlowModel", "custom_model": "CustomModel", "triton_model": "TritonModel"}
_OUTPUT_ASSET = re.compile(r"/data/azureml_(?P<run>.+)_output_data_(?P<name>[^/]+)/versions/1$")


class History(Jobs):
    def discovery(self, req: Request, **p: str) -> Response:
        services = ("api", "catalog", "experimentation", "gallery", "history", "hyperdrive", "labeling", "modelmanagement")
        return Response.json(200, {s: self.base_url for s in services} | {"pipelines": self.base_url})

    def get_run(self, req: Request, **p: str) -> Response:
        return Response.json(200, self._public(self._history_run(p)))

    def get_run_details(self, req: Request, **p: str) -> Response:
        run = self._history_run(p)
        account = storage_account(run["_workspace"])
        details = self._public(run)
        sas = self.container_sas(account, ARTIFACT_CONTAINER, hours=1)  # as Azure's run details: read URLs with a SAS
        details["logFiles"] = {
            name: f"{self.blobs.url(account, ARTIFACT_CONTAINER, path)}?{sas}"
            for name, path in run["logFiles"].items()
            if self.blobs.local_path(account, ARTIFACT_CONTAINER, path).is_file()
        }
        details["warnings"] = []
        return Response.json(200, details)

    def get_run_children(self, req: Request, **p: str) -> Response:
        parent = self._history_run(p)
        runs = self.store.children(f"{parent['_workspace']}/runs", "run")
        children = [self._public(r) for r in runs if r["parentRunId"] == parent["runId"]]
        return Response.json(200, {"value": children, "nextLink": None})

    def get_run_data(self, req: Request, **p: str) -> Response:
        run_id = req.json().get("runId") or ""
        run = self._history_run({**p, "run": run_id})
        metadata = self._public(run)
        guid = self.workspace(p)["properties"]["workspaceId"]
        metadata["outputs"] = {
            name: {
                "assetId": f"azureml://locations/{LOCATION}/workspaces/{guid}/data/azureml_{run_id}_output_data_{name}/versions/1",
                "type": _TYPED.get(str(out.get("type")), out.get("type")),
            }
            for name, out in run["outputs"].items()
        }
        return Response.json(200, {"runMetadata": metadata, "runDefinition": None, "jobSpecification": None})

    def resolve_data_uris(self, req: Request, **p: str) -> Response:
        return Response.json(200, {"values": {i: {"uri": self._output_uri(p, i), "type": "UriFolder"} for i in self._ids(req)}})

    def resolve_model_uris(self, req: Request, **p: str) -> Response:
        return Response.json(
            200, {"values": {i: {"path": self._output_uri(p, i), "type": "CustomModel"} for i in self._ids(req)}}
        )

    # -- helpers ----------------------------------------------------------------------------------------
    def _history_run(self, p: dict[str, str]) -> Doc:
        return self._get(f"{self.workspace(p)['id']}/runs/{p['run']}", "run", "run")

    @staticmethod
    def _public(run: Doc) -> Doc:
        return {k: v for k, v in run.items() if not k.startswith("_")} | {"outputs": None}

    @staticmethod
    def _ids(req: Request) -> list[str]:
        return [str(i) for i in req.json().get("values") or []]

    def _output_uri(self, p: dict[str, str], asset_id: str) -> str:
        """The long-form datastore URI of a job output named by the asset id `get_run_data` gave."""
        m = _OUTPUT_ASSET.search(asset_id)
        ws = self.workspace(p)
        run = self.store.get(f"{ws['id']}/runs/{m.group('run')}") if m else None
        out = (run or {}).get("outputs", {}).get(m.group("name")) if m else None
        if out is None:
            raise ArmError(404, "ResourceNotFound", f"The asset '{asset_id}' was not found.")
        short = out["uri"].removeprefix("azureml://")
        return f"azureml://subscriptions/{p['sub']}/resourcegroups/{p['rg']}/workspaces/{p['ws']}/{short}"
