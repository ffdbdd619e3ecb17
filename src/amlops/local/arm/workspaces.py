"""Workspaces (created on first reference) and their default datastore, which is local disk behind
the blob API; `local_path` maps the storage URIs assets point to back to those files."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from amlops.local.arm.common import (
    PROVIDER,
    RG,
    WS,
    ZERO_GUID,
    PlaneBase,
    storage_account,
    system_data,
    workspace_guid,
    workspace_prefix,
)
from amlops.local.connection import LOCATION
from amlops.local.store import Doc, key_of
from amlops.local.web import Request, Response


class Workspaces(PlaneBase):
    @staticmethod
    def ws_id(p: dict[str, str]) -> str:
        return WS.format(**p)

    def workspace(self, p: dict[str, str]) -> Doc:
        """The workspace of a request's path, created on first reference."""
        wid = self.ws_id(p)
        doc = self.store.get(wid)
        return doc if doc is not None else self._create_workspace(wid, p["ws"], {})

    def _create_workspace(self, wid: str, name: str, body: Doc) -> Doc:
        """A workspace's document: what a PUT body sets (every writable property is kept) over what
        was stored before, over the defaults the service fills in."""
        guid = workspace_guid(wid)
        sub_rg = wid.split("/providers/")[0]
        previous = self.store.get(wid) or {}
        defaults = {
            "location": LOCATION,
            "tags": {},
            "kind": "Default",
            "sku": {"name": "Basic", "tier": "Basic"},
            "identity": {"type": "SystemAssigned"},
        }
        properties = {
            "friendlyName": name,
            "description": "",
            "storageAccount": f"{sub_rg}/providers/Microsoft.Storage/storageAccounts/{storage_account(wid)}",
            "keyVault": f"{sub_rg}/providers/Microsoft.KeyVault/vaults/kv{guid[:8]}",
            "publicNetworkAccess": "Enabled",
            "hbiWorkspace": False,
            "v1LegacyMode": False,
            **(previous.get("properties") or {}),
            **{k: v for k, v in (body.get("properties") or {}).items() if v is not None},
            # read-only, the service's own
            "workspaceId": guid,
            "provisioningState": "Succeeded",
            "discoveryUrl": f"{self.base_url}/discovery",
            "mlFlowTrackingUri": f"azureml://{LOCATION}.api.azureml.ms/mlflow/v1.0{wid}",
        }
        top = {**defaults, **previous, **{k: v for k, v in body.items() if v is not None and k != "properties"}}
        identity = {**top["identity"], "principalId": guid, "tenantId": ZERO_GUID}
        doc = {
            **top,
            "id": wid,
            "name": name,
            "type": f"{PROVIDER}/workspaces",
            "identity": identity,
            "properties": properties,
            "systemData": system_data(previous or None),
        }
        with self.store.transaction():
            self.store.put(wid, "workspace", doc)
            ds_id = f"{wid}/datastores/workspaceblobstore"
            if self.store.get(ds_id) is None:
                self.store.put(ds_id, "datastore", self._datastore_doc(ds_id, storage_account(wid), guid))
        return doc

    def _datastore_doc(self, ds_id: str, account: str, guid: str) -> Doc:
        return {
            "id": ds_id,
            "name": ds_id.rsplit("/", 1)[1],
            "type": f"{PROVIDER}/workspaces/datastores",
            "properties": {
                "datastoreType": "AzureBlob",
                "accountName": account,
                "containerName": f"azureml-blobstore-{guid}",
                "endpoint": self.blobs.suffix,
                "protocol": "https",
                "isDefault": True,
                "credentials": {"credentialsType": "Sas"},
                "serviceDataAccessAuthIdentity": "None",
                "description": "The workspace's default blob store (local disk).",
                "tags": {},
                "properties": {},
            },
            "systemData": system_data(),
        }

    def get_workspace(self, req: Request, **p: str) -> Response:
        return Response.json(200, self.workspace(p))

    def put_workspace(self, req: Request, **p: str) -> Response:
        return Response.json(200, self._create_workspace(self.ws_id(p), p["ws"], self._body(req, "Workspace")))

    def list_workspaces(self, req: Request, **p: str) -> Response:
        prefix = key_of(RG.format(**p)) + "/"
        docs = [d for d in self.store.of_kind("workspace") if key_of(d["id"]).startswith(prefix)]
        return Response.json(200, {"value": docs})

    def list_datastores(self, req: Request, **p: str) -> Response:
        self.workspace(p)
        docs = self.store.children(self.ws_id(p) + "/datastores", "datastore")
        if req.query.get("isDefault", "").lower() == "true":
            docs = [d for d in docs if d["properties"].get("isDefault")]
        return Response.json(200, {"value": docs})

    def get_datastore(self, req: Request, **p: str) -> Response:
        self.workspace(p)
        return Response.json(200, self._get(f"{self.ws_id(p)}/datastores/{p['name']}", "datastore"))

    def datastore_secrets(self, req: Request, **p: str) -> Response:
        self.workspace(p)
        ds = self._get(f"{self.ws_id(p)}/datastores/{p['name']}", "datastore")["properties"]
        hours = self._body(req, "SecretExpiry").get("expireAfterHours") or 24
        sas = self.container_sas(ds["accountName"], ds["containerName"], hours)
        return Response.json(200, {"secretsType": "Sas", "sasToken": sas})

    def local_path(self, uri: str, context_id: str) -> Path | None:
        """The local file or folder behind a model or code URI (blob URL or azureml:// datastore path)."""
        path = self.blobs.path_for_url(uri)
        if path is not None:
            return path
        job = re.match(r"^azureml://jobs/([^/]+)/outputs/([^/]+)/paths/(.*)$", uri)
        if job:
            return self._job_output_path(job.group(1), job.group(2), unquote(job.group(3)), context_id)
        m = re.match(
            r"^azureml://(?:subscriptions/([^/]+)/resourcegroups/([^/]+)/workspaces/([^/]+)/)?"
            r"datastores/([^/]+)/paths/(.+)$",
            uri,
            re.IGNORECASE,
        )
        if not m:
            return None
        sub, rg, ws, datastore, blob = m.groups()
        ws_id = WS.format(sub=sub, rg=rg, ws=ws) if ws else workspace_prefix(context_id)
        ds = self.store.get(f"{ws_id}/datastores/{datastore}")
        if ds is None:
            return None
        return self.blobs.local_path(ds["properties"]["accountName"], ds["properties"]["containerName"], unquote(blob))

    def _job_output_path(self, run_id: str, output: str, below: str, context_id: str) -> Path | None:
        """A run's named output, as a model registered from it names it: Azure's job path
        `azureml://jobs/<job>/outputs/<output>/paths/<path in the output>` (learn.microsoft.com/azure/
        machine-learning/how-to-manage-models, "Supported paths"). An unknown run or output is no path."""
        run = self.store.get(f"{workspace_prefix(context_id)}/runs/{run_id}")
        uri = ((run or {}).get("outputs") or {}).get(output, {}).get("uri")
        root = self.local_path(uri, context_id) if isinstance(uri, str) and not uri.startswith("azureml://jobs/") else None
        if root is None:
            return None
        path = root.joinpath(below).resolve()
        return path if path.is_relative_to(root.resolve()) else None
