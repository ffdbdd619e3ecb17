"""The ARM routes of Azure Machine Learning that azure-ai-ml calls, answered from the state store.

Resources are stored as the ARM documents they are answered with. Workspaces and registries come into
being on first reference. Long-running operations (endpoints, deployments) run on a worker thread;
if one finishes within a moment it is answered synchronously (200/201 with its final state), else
with 201/202, `Azure-AsyncOperation` and `Retry-After: 1`, as ARM does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ruamel.yaml import YAML

from amlops.local.blobs import BlobStore
from amlops.local.connection import DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION, LOCATION
from amlops.local.faults import Faults
from amlops.local.serving import ProvisionError, ServingSpec, Supervisor, requirements_from_conda, with_server
from amlops.local.store import Doc, Store, key_of
from amlops.local.web import ArmError, Request, Response, Route, not_found, route

PROVIDER = "Microsoft.MachineLearningServices"
RG = "/subscriptions/{sub}/resourceGroups/{rg}"
WS = RG + f"/providers/{PROVIDER}/workspaces/{{ws}}"
REG = RG + f"/providers/{PROVIDER}/registries/{{reg}}"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
ASSETS = ("models", "environments", "codes")
_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
_ASSET_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,254}$")
_BUSY = ("Creating", "Updating", "Deleting")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def system_data(previous: Doc | None = None) -> Doc:
    created = (previous or {}).get("systemData") or {}
    stamp = now_iso()
    return {
        "createdBy": created.get("createdBy", "amlops-local"),
        "createdByType": "User",
        "createdAt": created.get("createdAt", stamp),
        "lastModifiedBy": "amlops-local",
        "lastModifiedByType": "User",
        "lastModifiedAt": stamp,
    }


def workspace_guid(workspace_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key_of(workspace_id)))


def _storage_account(scope_id: str) -> str:
    """A valid storage account name (3-24 lower-case alphanumerics) per workspace or registry."""
    return "st" + hashlib.sha256(key_of(scope_id).encode()).hexdigest()[:20]


class ControlPlane:
    def __init__(
        self,
        store: Store,
        blobs: BlobStore,
        supervisor: Supervisor,
        faults: Faults,
        base_url: str,
        provisioning_delay: float = 0.0,
        sync_wait: float = 0.3,
    ) -> None:
        self.store, self.blobs, self.supervisor, self.faults = store, blobs, supervisor, faults
        self.base_url = base_url.rstrip("/")
        self.provisioning_delay = provisioning_delay
        self.sync_wait = sync_wait
        self._secret = self._server_secret()
        self._live_operations: set[str] = set()  # operations this process is working on
        self.routes = self._routes()

    # -- routing table --------------------------------------------------------------------------------
    def _routes(self) -> list[Route]:
        r: list[Route] = [
            route("GET", RG + f"/providers/{PROVIDER}/workspaces", self.list_workspaces),
            route("GET", WS, self.get_workspace),
            route("PUT", WS, self.put_workspace),
            route("GET", WS + "/datastores", self.list_datastores),
            route("GET", WS + "/datastores/{name}", self.get_datastore),
            route("POST", WS + "/datastores/{name}/listSecrets", self.datastore_secrets, mutating=False),
            route("GET", WS + "/onlineEndpoints", self.list_endpoints),
            route("GET", WS + "/onlineEndpoints/{endpoint}", self.get_endpoint),
            route("PUT", WS + "/onlineEndpoints/{endpoint}", self.put_endpoint),
            route("PATCH", WS + "/onlineEndpoints/{endpoint}", self.put_endpoint),
            route("DELETE", WS + "/onlineEndpoints/{endpoint}", self.delete_endpoint),
            route("POST", WS + "/onlineEndpoints/{endpoint}/listKeys", self.list_keys, mutating=False),
            route("POST", WS + "/onlineEndpoints/{endpoint}/regenerateKeys", self.regenerate_keys),
            route("POST", WS + "/onlineEndpoints/{endpoint}/token", self.endpoint_token, mutating=False),
            route("GET", WS + "/onlineEndpoints/{endpoint}/deployments", self.list_deployments),
            route("GET", WS + "/onlineEndpoints/{endpoint}/deployments/{deployment}", self.get_deployment),
            route("PUT", WS + "/onlineEndpoints/{endpoint}/deployments/{deployment}", self.put_deployment),
            route("PATCH", WS + "/onlineEndpoints/{endpoint}/deployments/{deployment}", self.put_deployment),
            route("DELETE", WS + "/onlineEndpoints/{endpoint}/deployments/{deployment}", self.delete_deployment),
            route(
                "POST",
                WS + "/onlineEndpoints/{endpoint}/deployments/{deployment}/getLogs",
                self.deployment_logs,
                mutating=False,
            ),
            route("GET", WS + "/serverlessEndpoints", self.list_serverless),
            route("GET", WS + "/serverlessEndpoints/{name}", self.get_serverless),
            route("PUT", WS + "/serverlessEndpoints/{name}", self.put_serverless),
            route("DELETE", WS + "/serverlessEndpoints/{name}", self.delete_serverless),
            route("POST", WS + "/serverlessEndpoints/{name}/listKeys", self.serverless_keys, mutating=False),
            route("GET", "/subscriptions/{sub}/providers/" + PROVIDER + "/locations/{loc}/{kind}/{op}", self.get_operation),
            route("GET", "/registrymanagement/v1.0/registries/{reg}/discovery", self.registry_discovery),
            route("GET", REG, self.get_registry),
            route("PUT", REG + "/tempdatarefs/{name}/versions/{version}", self.registry_temp_ref, mutating=False),
            route("POST", REG + "/datarefs/{name}/versions/{version}", self.registry_data_ref, mutating=False),
            route("POST", REG + "/import", self.registry_import),
        ]
        for scope in (WS, REG):
            for assets in ASSETS:
                base = f"{scope}/{assets}"
                r += [
                    route("GET", base, self.list_containers),
                    route("GET", base + "/{name}", self.get_container),
                    route("PUT", base + "/{name}", self.put_container),
                    route("DELETE", base + "/{name}", self.delete_container),
                    route("GET", base + "/{name}/versions", self.list_versions),
                    route("GET", base + "/{name}/versions/{version}", self.get_version),
                    route("PUT", base + "/{name}/versions/{version}", self.put_version),
                    route("DELETE", base + "/{name}/versions/{version}", self.delete_version),
                    route("POST", base + "/{name}/versions/{version}/startPendingUpload", self.pending_upload,
                          mutating=False),
                ]
        return r

    # -- workspaces, registries, datastores -------------------------------------------------------------
    @staticmethod
    def ws_id(p: dict[str, str]) -> str:
        return WS.format(**p)

    def workspace(self, p: dict[str, str]) -> Doc:
        """The workspace of a request's path, created on first reference."""
        wid = self.ws_id(p)
        doc = self.store.get(wid)
        return doc if doc is not None else self._create_workspace(wid, p["ws"], {})

    def _create_workspace(self, wid: str, name: str, body: Doc) -> Doc:
        guid = workspace_guid(wid)
        sub_rg = wid.split("/providers/")[0]
        previous = self.store.get(wid)
        doc = {
            "id": wid,
            "name": name,
            "type": f"{PROVIDER}/workspaces",
            "location": body.get("location") or LOCATION,
            "tags": body.get("tags") or (previous or {}).get("tags") or {},
            "kind": "Default",
            "sku": {"name": "Basic", "tier": "Basic"},
            "identity": {"type": "SystemAssigned", "principalId": guid, "tenantId": ZERO_GUID},
            "properties": {
                "workspaceId": guid,
                "friendlyName": (body.get("properties") or {}).get("friendlyName") or name,
                "description": (body.get("properties") or {}).get("description") or "",
                "provisioningState": "Succeeded",
                "storageAccount": f"{sub_rg}/providers/Microsoft.Storage/storageAccounts/{_storage_account(wid)}",
                "keyVault": f"{sub_rg}/providers/Microsoft.KeyVault/vaults/kv{guid[:8]}",
                "discoveryUrl": f"{self.base_url}/discovery",
                "mlFlowTrackingUri": f"azureml://{LOCATION}.api.azureml.ms/mlflow/v1.0{wid}",
                "publicNetworkAccess": "Enabled",
                "hbiWorkspace": False,
                "v1LegacyMode": False,
            },
            "systemData": system_data(previous),
        }
        with self.store.transaction():
            self.store.put(wid, "workspace", doc)
            ds_id = f"{wid}/datastores/workspaceblobstore"
            if self.store.get(ds_id) is None:
                self.store.put(ds_id, "datastore", self._datastore_doc(ds_id, _storage_account(wid), guid))
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
                "credentials": {"credentialsType": "AccountKey"},
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
        return Response.json(200, self._create_workspace(self.ws_id(p), p["ws"], req.json()))

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
        self._get(f"{self.ws_id(p)}/datastores/{p['name']}", "datastore")
        key = base64.b64encode(hashlib.sha256(self._secret + p["name"].encode()).digest() * 2).decode()
        return Response.json(200, {"secretsType": "AccountKey", "key": key})

    def registry(self, p: dict[str, str]) -> Doc:
        """The registry of a request's path (sub and rg as the path says), created on first reference."""
        rid = REG.format(**p)
        doc = self.store.get(rid)
        if doc is None:
            doc = {
                "id": rid,
                "name": p["reg"],
                "type": f"{PROVIDER}/registries",
                "location": LOCATION,
                "tags": {},
                "properties": {
                    "discoveryUrl": f"{self.base_url}/registrymanagement/v1.0/registries/{p['reg']}/discovery",
                    "mlFlowRegistryUri": f"azureml://{LOCATION}.api.azureml.ms/mlflow/v1.0{rid}",
                    "regionDetails": [{"location": LOCATION, "storageAccountDetails": [], "acrDetails": []}],
                    "publicNetworkAccess": "Enabled",
                    "provisioningState": "Succeeded",
                },
                "systemData": system_data(),
            }
            self.store.put(rid, "registry", doc)
        return doc

    def registry_by_name(self, name: str) -> Doc | None:
        return next((d for d in self.store.of_kind("registry") if d["name"].lower() == name.lower()), None)

    def registry_discovery(self, req: Request, reg: str) -> Response:
        doc = self.registry_by_name(reg)
        if doc is None:
            doc = self.registry({"sub": DEFAULT_SUBSCRIPTION, "rg": DEFAULT_RESOURCE_GROUP, "reg": reg})
        parts = doc["id"].split("/")
        return Response.json(
            200,
            {
                "registryName": doc["name"],
                "subscriptionId": parts[2],
                "resourceGroup": parts[4],
                "primaryRegion": LOCATION,
                "primaryRegionResourceProviderUri": f"{self.base_url}/",
                "registryFqdns": {LOCATION: {"api": f"{self.base_url}/"}},
            },
        )

    def get_registry(self, req: Request, **p: str) -> Response:
        return Response.json(200, self.registry(p))

    # -- versioned assets: models, environments, codes (workspace or registry scope) --------------------
    def _scope(self, p: dict[str, str]) -> str:
        if "ws" in p:
            return self.workspace(p)["id"]
        return self.registry(p)["id"]

    def _asset_of(self, req: Request) -> str:
        """Which asset collection ('models', ...) a path addresses."""
        segments = [s.lower() for s in req.path.split("/")]
        return next(s for s in reversed(segments) if s in ASSETS)

    def list_containers(self, req: Request, **p: str) -> Response:
        assets = self._asset_of(req)
        docs = self.store.children(f"{self._scope(p)}/{assets}", f"{assets}-container")
        docs = [d for d in docs if _view_matches(d, req.query.get("listViewType"))]
        return Response.json(200, {"value": docs})

    def get_container(self, req: Request, **p: str) -> Response:
        assets = self._asset_of(req)
        return Response.json(200, self._get(f"{self._scope(p)}/{assets}/{p['name']}", f"{assets}-container"))

    def put_container(self, req: Request, **p: str) -> Response:
        assets = self._asset_of(req)
        cid = f"{self._scope(p)}/{assets}/{p['name']}"
        props = req.json().get("properties") or {}
        with self.store.transaction():
            doc = self._container(cid, assets, p["name"])
            for field in ("description", "tags", "properties", "isArchived"):
                if field in props:
                    doc["properties"][field] = props[field]
            doc["systemData"] = system_data(doc)
            self.store.put(cid, f"{assets}-container", doc)
        return Response.json(200, doc)

    def delete_container(self, req: Request, **p: str) -> Response:
        assets = self._asset_of(req)
        cid = f"{self._scope(p)}/{assets}/{p['name']}"
        self._get(cid, f"{assets}-container")
        self.store.delete(cid)
        return Response(200)

    def list_versions(self, req: Request, **p: str) -> Response:
        assets = self._asset_of(req)
        cid = f"{self._scope(p)}/{assets}/{p['name']}"
        docs = self.store.children(cid + "/versions", f"{assets}-version")
        docs = [d for d in docs if _view_matches(d, req.query.get("listViewType"))]
        wanted_hash = req.query.get("hash")
        if wanted_hash:
            docs = [d for d in docs if wanted_hash in ((d["properties"].get("properties") or {}).values())]
        order = (req.query.get("$orderBy") or "").lower()
        docs.sort(key=lambda d: d["systemData"]["createdAt"], reverse="desc" in order or not order)
        if req.query.get("$top"):
            docs = docs[: int(req.query["$top"])]
        return Response.json(200, {"value": docs})

    def get_version(self, req: Request, **p: str) -> Response:
        assets = self._asset_of(req)
        vid = f"{self._scope(p)}/{assets}/{p['name']}/versions/{p['version']}"
        return Response.json(200, self._get(vid, f"{assets}-version", f"{assets[:-1]} version"))

    def put_version(self, req: Request, **p: str) -> Response:
        assets = self._asset_of(req)
        name, version = p["name"], p["version"]
        if not _ASSET_NAME.match(name):
            raise ArmError(400, "UserError", f"Invalid asset name '{name}'.")
        scope = self._scope(p)
        props = dict(req.json().get("properties") or {})
        doc = self._write_version(scope, assets, name, version, props)
        return Response.json(200, doc)

    def _write_version(self, scope: str, assets: str, name: str, version: str, props: Doc) -> Doc:
        cid = f"{scope}/{assets}/{name}"
        vid = f"{cid}/versions/{version}"
        with self.store.transaction():
            existing = self.store.get(vid)
            if existing is not None:
                _check_immutable(assets, existing["properties"], props)
            if assets == "models":
                props.setdefault("flavors", {})
                props.setdefault("modelType", "custom_model")
            if assets == "environments":
                props.setdefault("environmentType", "UserCreated")
                props.setdefault("osType", "Linux")
            props.setdefault("isArchived", False)
            props.setdefault("isAnonymous", False)
            props.setdefault("tags", {})
            props.setdefault("properties", {})
            props["provisioningState"] = "Succeeded"
            doc = {
                "id": _public_id(vid),
                "name": version,
                "type": f"{PROVIDER}/{scope.split('/')[-2]}/{assets}/versions",
                "properties": props,
                "systemData": system_data(existing),
            }
            self.store.put(vid, f"{assets}-version", doc)
            container = self._container(cid, assets, name)
            versions = self.store.children(cid + "/versions", f"{assets}-version")
            numeric = [int(d["name"]) for d in versions if d["name"].isdigit()]
            container["properties"]["latestVersion"] = max(versions, key=lambda d: d["systemData"]["createdAt"])["name"]
            container["properties"]["nextVersion"] = str(max(numeric, default=0) + 1)
            container["systemData"] = system_data(container)
            self.store.put(cid, f"{assets}-container", container)
        return doc

    def _container(self, cid: str, assets: str, name: str) -> Doc:
        doc = self.store.get(cid)
        return doc or {
            "id": _public_id(cid),
            "name": name,
            "type": f"{PROVIDER}/{cid.split('/')[-4]}/{assets}",
            "properties": {"description": None, "tags": {}, "properties": {}, "isArchived": False,
                           "latestVersion": None, "nextVersion": "1"},
            "systemData": system_data(),
        }

    def delete_version(self, req: Request, **p: str) -> Response:
        assets = self._asset_of(req)
        vid = f"{self._scope(p)}/{assets}/{p['name']}/versions/{p['version']}"
        self._get(vid, f"{assets}-version", f"{assets[:-1]} version")
        self.store.delete(vid)
        return Response(200)

    def pending_upload(self, req: Request, **p: str) -> Response:
        """A fresh container in the scope's storage to upload an asset's files to (SAS URL)."""
        scope = self._scope(p)
        container = f"upload-{uuid.uuid4().hex}"
        return Response.json(200, self._blob_reference(scope, container))

    def _blob_reference(self, scope: str, container: str, path: str = "") -> Doc:
        account = _storage_account(scope)
        url = self.blobs.url(account, container, path)
        sas = f"sv=2021-08-06&sr=c&sp=racwdl&sig={hashlib.sha256(self._secret + url.encode()).hexdigest()[:32]}"
        sub_rg = scope.split("/providers/")[0]
        return {
            "blobReferenceForConsumption": {
                "blobUri": url,
                "storageAccountArmId": f"{sub_rg}/providers/Microsoft.Storage/storageAccounts/{account}",
                "credential": {"credentialType": "SAS", "sasUri": f"{url}?{sas}"},
            },
            "pendingUploadId": container,
            "pendingUploadType": "TemporaryBlobReference",
        }

    def registry_temp_ref(self, req: Request, **p: str) -> Response:
        scope = self.registry(p)["id"]
        if self.store.get(f"{scope}/models/{p['name']}/versions/{p['version']}") is not None:
            raise ArmError(409, "Conflict", f"Asset {p['name']}:{p['version']} already exists in registry.")
        return Response.json(200, self._blob_reference(scope, f"upload-{uuid.uuid4().hex}"))

    def registry_data_ref(self, req: Request, **p: str) -> Response:
        scope = self.registry(p)["id"]
        uri = req.json().get("blobUri") or ""
        ref = self._blob_reference(scope, "data")["blobReferenceForConsumption"]
        sas = ref["credential"]["sasUri"].split("?", 1)[1]
        return Response.json(200, {"blobReferenceForConsumption": {**ref, "blobUri": uri,
                                                                    "credential": {"credentialType": "SAS",
                                                                                   "sasUri": f"{uri}?{sas}"}}})

    def registry_import(self, req: Request, **p: str) -> Response:
        """Copy a workspace model version into the registry (what `models.share` asks for), bytes included."""
        scope = self.registry(p)["id"]
        props = req.json().get("properties") or {}
        source = props.get("sourceAssetId") or ""
        m = re.match(r"^azureml://locations/[^/]+/workspaces/([^/]+)/models/([^/]+)/versions/([^/]+)$", source)
        if not m:
            raise ArmError(400, "UserError", f"Unsupported sourceAssetId '{source}'.")
        guid, name, version = m.groups()
        ws = next((w for w in self.store.of_kind("workspace") if w["properties"]["workspaceId"] == guid), None)
        if ws is None:
            raise not_found("workspace", guid)
        model = self._get(f"{ws['id']}/models/{name}/versions/{version}", "models-version", "model version")
        dest_name = props.get("destinationName") or name
        dest_version = props.get("destinationVersion") or version
        if self.store.get(f"{scope}/models/{dest_name}/versions/{dest_version}") is not None:
            raise ArmError(409, "Conflict", f"Model {dest_name}:{dest_version} already exists in the registry.")
        self._copy_model(model, scope, dest_name, dest_version)
        return Response(200)

    def _copy_model(self, model: Doc, registry_id: str, name: str, version: str) -> Doc:
        source = self.local_path(model["properties"]["modelUri"], model["id"])
        if source is None or not source.exists():
            raise ArmError(400, "UserError", f"The files of model {model['id']} are not in local storage.")
        container = f"{name}-{version}".lower()
        self.blobs.copy_tree(source, _storage_account(registry_id), container, source.name)
        props = {k: v for k, v in model["properties"].items() if k not in ("provisioningState",)}
        props["modelUri"] = self.blobs.url(_storage_account(registry_id), container, source.name)
        return self._write_version(registry_id, "models", name, version, props)

    # -- storage URIs -> local paths ---------------------------------------------------------------------
    def local_path(self, uri: str, context_id: str) -> Path | None:
        """The local file or folder behind a model or code URI (blob URL or azureml:// datastore path)."""
        path = self.blobs.path_for_url(uri)
        if path is not None:
            return path
        m = re.match(r"^azureml://(?:subscriptions/([^/]+)/resourcegroups/([^/]+)/workspaces/([^/]+)/)?"
                     r"datastores/([^/]+)/paths/(.+)$", uri, re.IGNORECASE)
        if not m:
            return None
        sub, rg, ws, datastore, blob = m.groups()
        ws_id = WS.format(sub=sub, rg=rg, ws=ws) if ws else _workspace_prefix(context_id)
        ds = self.store.get(f"{ws_id}/datastores/{datastore}")
        if ds is None:
            return None
        return self.blobs.local_path(ds["properties"]["accountName"], ds["properties"]["containerName"], unquote(blob))

    # -- online endpoints ----------------------------------------------------------------------------------
    def endpoint_id(self, p: dict[str, str]) -> str:
        return f"{self.workspace(p)['id']}/onlineEndpoints/{p['endpoint']}"

    def list_endpoints(self, req: Request, **p: str) -> Response:
        docs = self.store.children(self.workspace(p)["id"] + "/onlineEndpoints", "endpoint")
        return Response.json(200, {"value": docs})

    def get_endpoint(self, req: Request, **p: str) -> Response:
        return Response.json(200, self._get(self.endpoint_id(p), "endpoint", "online endpoint"))

    def put_endpoint(self, req: Request, **p: str) -> Response:
        name = p["endpoint"]
        if not _NAME.match(name):
            raise ArmError(
                400,
                "BadArgument",
                f"Endpoint name '{name}' is invalid: it must be 3-32 characters, start with a letter, end with a"
                " letter or digit, and contain only letters, digits and '-'.",
            )
        eid = self.endpoint_id(p)
        body = req.json()
        existing = self.store.get(eid)
        if existing is None and req.method == "PATCH":
            raise not_found("online endpoint", name)
        if existing is not None and existing["properties"]["provisioningState"] in _BUSY:
            raise ArmError(409, "Conflict", f"Endpoint '{name}' has an operation in progress.")
        props = dict((existing or {}).get("properties") or {})
        props.update({k: v for k, v in (body.get("properties") or {}).items() if v is not None})
        traffic = {k: int(v) for k, v in (props.get("traffic") or {}).items()}
        mirror = {k: int(v) for k, v in (props.get("mirrorTraffic") or {}).items()}
        self._validate_traffic(eid, traffic, mirror)
        guid = self.workspace(p)["properties"]["workspaceId"]
        props.update(
            traffic=traffic,
            mirrorTraffic=mirror,
            authMode=props.get("authMode") or "Key",
            scoringUri=f"{self.base_url}/endpoints/{guid}/{name}/score",
            swaggerUri=f"{self.base_url}/endpoints/{guid}/{name}/swagger.json",
            publicNetworkAccess=props.get("publicNetworkAccess") or "Enabled",
            provisioningState="Updating" if existing else "Creating",
        )
        props.pop("keys", None)
        doc = {
            "id": eid,
            "name": name,
            "type": f"{PROVIDER}/workspaces/onlineEndpoints",
            "location": body.get("location") or LOCATION,
            "kind": body.get("kind") or "Managed",
            "tags": body.get("tags") if body.get("tags") is not None else (existing or {}).get("tags") or {},
            "identity": body.get("identity") or (existing or {}).get("identity")
            or {"type": "SystemAssigned", "principalId": str(uuid.uuid4()), "tenantId": ZERO_GUID},
            "properties": props,
            "systemData": system_data(existing),
        }
        self.store.put(eid, "endpoint", doc)
        if existing is None:
            self._store_keys(eid, secrets.token_urlsafe(32), secrets.token_urlsafe(32))

        def work() -> None:
            time.sleep(self.faults.provisioning_delay(self.provisioning_delay))

        return self._long_running(req, eid, "endpoint", work, created=existing is None)

    def _validate_traffic(self, eid: str, traffic: dict[str, int], mirror: dict[str, int]) -> None:
        deployments = {d["name"].lower() for d in self.store.children(eid + "/deployments", "deployment")}
        for label, weights in (("traffic", traffic), ("mirror traffic", mirror)):
            unknown = sorted(n for n in weights if n.lower() not in deployments)
            if unknown:
                raise ArmError(400, "BadArgument",
                               f"The {label} names deployments that do not exist: {', '.join(unknown)}.")
            bad = sorted(n for n, v in weights.items() if not 0 <= v <= 100)
            if bad:
                raise ArmError(400, "BadArgument", f"The {label} of {', '.join(bad)} must be between 0 and 100.")
        if sum(traffic.values()) > 100:
            raise ArmError(400, "BadArgument",
                           f"Traffic values must sum to at most 100, got {sum(traffic.values())}.")
        if sum(mirror.values()) > 50:
            raise ArmError(400, "BadArgument", "Mirror traffic cannot exceed 50% in total.")
        both = sorted(n for n, v in mirror.items() if v and traffic.get(n))
        if both:
            raise ArmError(400, "BadArgument",
                           f"Deployment(s) {', '.join(both)} cannot receive live and mirror traffic at once.")

    def delete_endpoint(self, req: Request, **p: str) -> Response:
        eid = self.endpoint_id(p)
        doc = self._get(eid, "endpoint", "online endpoint")
        if doc["properties"]["provisioningState"] == "Deleting":
            raise ArmError(409, "Conflict", f"Endpoint '{p['endpoint']}' is being deleted.")
        doc["properties"]["provisioningState"] = "Deleting"
        self.store.put(eid, "endpoint", doc)

        def work() -> None:
            time.sleep(self.faults.provisioning_delay(self.provisioning_delay))
            for dep in self.store.children(eid + "/deployments", "deployment"):
                self.supervisor.stop(self.serving_key(dep["id"]))
            self.store.delete(eid)

        return self._long_running(req, eid, "endpoint", work, deleting=True)

    def _store_keys(self, eid: str, primary: str, secondary: str) -> None:
        self.store.put(eid + "/keys/default", "endpoint-keys", {"primaryKey": primary, "secondaryKey": secondary})

    def endpoint_keys(self, eid: str) -> Doc:
        return self.store.get(eid + "/keys/default") or {}

    def list_keys(self, req: Request, **p: str) -> Response:
        eid = self.endpoint_id(p)
        doc = self._get(eid, "endpoint", "online endpoint")
        if doc["properties"]["authMode"].lower() != "key":
            raise ArmError(400, "BadArgument", "Keys are only available for endpoints with auth_mode 'key'.")
        return Response.json(200, self.endpoint_keys(eid))

    def regenerate_keys(self, req: Request, **p: str) -> Response:
        eid = self.endpoint_id(p)
        self._get(eid, "endpoint", "online endpoint")
        keys = self.endpoint_keys(eid)
        which = (req.json().get("keyType") or "Primary").lower()
        new = req.json().get("keyValue") or secrets.token_urlsafe(32)
        keys["primaryKey" if which == "primary" else "secondaryKey"] = new
        self._store_keys(eid, keys["primaryKey"], keys["secondaryKey"])
        return Response(200)

    def endpoint_token(self, req: Request, **p: str) -> Response:
        eid = self.endpoint_id(p)
        doc = self._get(eid, "endpoint", "online endpoint")
        if doc["properties"]["authMode"].lower() != "amltoken":
            raise ArmError(400, "BadArgument", "Tokens are only available for endpoints with auth_mode 'aml_token'.")
        expiry = int(time.time()) + 3600
        claims = base64.urlsafe_b64encode(json.dumps({"e": key_of(eid), "exp": expiry}).encode()).decode()
        token = f"{claims}.{hmac.new(self._secret, claims.encode(), 'sha256').hexdigest()}"
        return Response.json(200, {"accessToken": token, "tokenType": "Bearer", "expiryTimeUtc": expiry,
                                   "refreshAfterTimeUtc": expiry - 600})

    def token_valid(self, eid: str, token: str) -> bool:
        claims, _, sig = token.partition(".")
        if not hmac.compare_digest(sig, hmac.new(self._secret, claims.encode(), "sha256").hexdigest()):
            return False
        doc = json.loads(base64.urlsafe_b64decode(claims.encode()))
        return doc["e"] == key_of(eid) and doc["exp"] > time.time()

    # -- online deployments ----------------------------------------------------------------------------------
    def serving_key(self, deployment_id: str) -> str:
        """Stable key of a deployment for the supervisor and metrics: '<workspace guid>/<endpoint>/<name>'."""
        m = re.match(r"^(.*)/onlineEndpoints/([^/]+)/deployments/([^/]+)$", deployment_id, re.IGNORECASE)
        if not m:
            raise ValueError(f"not a deployment id: {deployment_id}")
        return f"{workspace_guid(m.group(1))}/{m.group(2).lower()}/{m.group(3).lower()}"

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
        if not _NAME.match(name):
            raise ArmError(400, "BadArgument", f"Deployment name '{name}' is invalid: 3-32 characters, letters,"
                                               " digits and '-', starting with a letter.")
        did = f"{eid}/deployments/{name}"
        body = req.json()
        existing = self.store.get(did)
        if existing is None and req.method == "PATCH":
            raise not_found("deployment", name)
        if existing is not None and existing["properties"]["provisioningState"] in _BUSY:
            raise ArmError(409, "Conflict", f"Deployment '{name}' has an operation in progress.")
        props = dict((existing or {}).get("properties") or {})
        props.update({k: v for k, v in (body.get("properties") or {}).items() if v is not None})
        props.setdefault("endpointComputeType", "Managed")
        props.setdefault("scaleSettings", {"scaleType": "Default"})
        props.setdefault("requestSettings", {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1})
        props.setdefault("appInsightsEnabled", False)
        props["provisioningState"] = "Updating" if existing else "Creating"
        sku = {"name": "Default", "tier": "Standard", "capacity": 1, **((existing or {}).get("sku") or {}),
               **(body.get("sku") or {})}
        self._resolve_model(props.get("model"), did)  # fail fast: 404 for a model that does not exist
        doc = {
            "id": did,
            "name": name,
            "type": f"{PROVIDER}/workspaces/onlineEndpoints/deployments",
            "location": body.get("location") or LOCATION,
            "kind": body.get("kind") or "Managed",
            "tags": body.get("tags") if body.get("tags") is not None else (existing or {}).get("tags") or {},
            "sku": sku,
            "properties": props,
            "systemData": system_data(existing),
        }
        self.store.put(did, "deployment", doc)
        return self._long_running(req, did, "deployment", lambda: self._provision(did), created=existing is None)

    def _provision(self, did: str) -> None:
        time.sleep(self.faults.provisioning_delay(self.provisioning_delay))
        failure = self.faults.take_deployment_failure()
        if failure:
            self.supervisor.log(self.serving_key(did), failure)
            raise ProvisionError(failure)
        doc = self._get(did, "deployment", "deployment")
        self.supervisor.provision(self.serving_spec(doc))

    def resume(self) -> list[threading.Thread]:
        """After a restart: bring back deployments that were serving or being provisioned (returns the
        threads doing so), finish interrupted deletions, and settle operations clients may still poll."""
        for endpoint in self.store.of_kind("endpoint"):
            state = endpoint["properties"]["provisioningState"]
            if state == "Deleting":
                self.store.delete(endpoint["id"])
            elif state in _BUSY:
                self._set_state(endpoint["id"], "endpoint", "Succeeded")
        threads = []
        for dep in self.store.of_kind("deployment"):
            state = dep["properties"]["provisioningState"]
            if state == "Deleting":
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

    def _settle_operations(self) -> None:
        """Operations whose worker died with the previous process take their resource's outcome."""
        for op in self.busy_operations():
            if op["name"] in self._live_operations:
                continue
            doc = self.store.get(op["resourceId"])
            state = doc["properties"]["provisioningState"] if doc else "Succeeded"
            if state in _BUSY:
                continue
            op.update(status="Failed" if state == "Failed" else "Succeeded", endTime=now_iso())
            if state == "Failed":
                op["error"] = {"code": "DeploymentFailed", "message": doc["properties"].get("failureReason") or ""}
            self.store.put(op["id"], "operation", op)

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
            requirements, dropped = requirements_from_conda(env_doc["properties"].get("condaFile"))
        mlflow = None
        if model is not None and model["properties"].get("modelType") == "mlflow_model" and not code_dir:
            mlflow = _mlflow_config(model_path)  # type: ignore[arg-type]
            if not props.get("environmentId"):
                conda = model_path / mlflow.pop("conda_file") if mlflow.get("conda_file") else None  # type: ignore
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
        )

    def _resolve_model(self, ref: str | None, context_id: str) -> Doc | None:
        if not ref:
            return None
        return self._get_by_ref(ref, "models-version", "model", context_id)

    def _get_by_ref(self, ref: str, kind: str, what: str, context_id: str) -> Doc:
        """An asset by ARM id or `azureml://registries/<r>/<assets>/<n>/versions/<v>`."""
        m = re.match(r"^azureml://registries/([^/]+)/(\w+)/([^/]+)/versions/([^/]+)$", ref)
        if m:
            reg = self.registry_by_name(m.group(1))
            if reg is None:
                raise not_found("registry", m.group(1))
            ref = f"{reg['id']}/{m.group(2)}/{m.group(3)}/versions/{m.group(4)}"
        elif ref.startswith("azureml:") and not ref.startswith("azureml://"):
            name, _, version = ref[len("azureml:"):].partition(":")
            ref = f"{_workspace_prefix(context_id)}/{kind.split('-')[0]}/{name}/versions/{version}"
        return self._get(ref, kind, what)

    def delete_deployment(self, req: Request, **p: str) -> Response:
        eid = self.endpoint_id(p)
        endpoint = self._get(eid, "endpoint", "online endpoint")
        did = f"{eid}/deployments/{p['deployment']}"
        doc = self._get(did, "deployment", "deployment")
        name = doc["name"]
        live = {k.lower(): v for k, v in {**endpoint["properties"].get("traffic", {}),
                                          **endpoint["properties"].get("mirrorTraffic", {})}.items()}
        if live.get(name.lower()):
            raise ArmError(400, "BadArgument",
                           f"Deployment '{name}' receives {live[name.lower()]}% of traffic and cannot be deleted;"
                           " set its traffic to 0 first.")
        doc["properties"]["provisioningState"] = "Deleting"
        self.store.put(did, "deployment", doc)

        def work() -> None:
            time.sleep(self.faults.provisioning_delay(self.provisioning_delay))
            self.supervisor.stop(self.serving_key(did))
            self.store.delete(did)

        return self._long_running(req, did, "deployment", work, deleting=True)

    def deployment_logs(self, req: Request, **p: str) -> Response:
        did = f"{self.endpoint_id(p)}/deployments/{p['deployment']}"
        self._get(did, "deployment", "deployment")
        tail = req.json().get("tail")
        return Response.json(200, {"content": self.supervisor.read_log(self.serving_key(did), int(tail) if tail else None)})

    # -- serverless endpoints ----------------------------------------------------------------------------
    def list_serverless(self, req: Request, **p: str) -> Response:
        return Response.json(200, {"value": self.store.children(self.workspace(p)["id"] + "/serverlessEndpoints",
                                                                "serverless")})

    def get_serverless(self, req: Request, **p: str) -> Response:
        sid = f"{self.workspace(p)['id']}/serverlessEndpoints/{p['name']}"
        return Response.json(200, self._get(sid, "serverless", "serverless endpoint"))

    def put_serverless(self, req: Request, **p: str) -> Response:
        name = p["name"]
        if not _NAME.match(name):
            raise ArmError(400, "BadArgument", f"Serverless endpoint name '{name}' is invalid (3-32 characters).")
        ws = self.workspace(p)
        sid = f"{ws['id']}/serverlessEndpoints/{name}"
        body = req.json()
        props = dict(body.get("properties") or {})
        model_id = (props.get("modelSettings") or {}).get("modelId") or ""
        if not model_id.startswith("azureml://registries/"):
            raise ArmError(400, "BadArgument", f"modelSettings.modelId '{model_id}' is not a registry model id.")
        existing = self.store.get(sid)
        props.update(
            authMode=props.get("authMode") or "Key",
            provisioningState="Succeeded",
            endpointState="Online",
            inferenceEndpoint={"uri": f"{self.base_url}/serverless/{ws['properties']['workspaceId']}/{name}",
                               "headers": {}},
        )
        doc = {
            "id": sid, "name": name, "type": f"{PROVIDER}/workspaces/serverlessEndpoints",
            "location": body.get("location") or LOCATION, "tags": body.get("tags") or {},
            "sku": body.get("sku") or {"name": "Consumption"}, "properties": props,
            "systemData": system_data(existing),
        }
        self.store.put(sid, "serverless", doc)
        if existing is None:
            self._store_keys(sid, secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        return Response.json(201 if existing is None else 200, doc)

    def delete_serverless(self, req: Request, **p: str) -> Response:
        sid = f"{self.workspace(p)['id']}/serverlessEndpoints/{p['name']}"
        self._get(sid, "serverless", "serverless endpoint")
        self.store.delete(sid)
        return Response(204)

    def serverless_keys(self, req: Request, **p: str) -> Response:
        sid = f"{self.workspace(p)['id']}/serverlessEndpoints/{p['name']}"
        self._get(sid, "serverless", "serverless endpoint")
        return Response.json(200, self.endpoint_keys(sid))

    # -- long-running operations ---------------------------------------------------------------------------
    def _long_running(
        self, req: Request, rid: str, kind: str, work: Callable[[], None], created: bool = False,
        deleting: bool = False,
    ) -> Response:
        op_id = uuid.uuid4().hex
        sub = rid.split("/")[2]
        op_path = f"/subscriptions/{sub}/providers/{PROVIDER}/locations/{LOCATION}/mfeOperationsStatus/{op_id}"
        self.store.put(op_path, "operation", {"id": op_path, "name": op_id, "status": "InProgress",
                                              "startTime": now_iso(), "resourceId": rid, "kind": kind})

        def run() -> None:
            error: Doc | None = None
            try:
                work()
                if not deleting:
                    self._set_state(rid, kind, "Succeeded")
            except (ProvisionError, ArmError) as exc:
                error = {"code": "DeploymentFailed" if kind == "deployment" else "OperationFailed",
                         "message": str(exc)}
                if not deleting:
                    self._set_state(rid, kind, "Failed", str(exc))
            except Exception as exc:  # keep the operation honest rather than hanging InProgress
                error = {"code": "InternalServerError", "message": f"{type(exc).__name__}: {exc}"}
                self._set_state(rid, kind, "Failed", str(exc))
            op = self.store.get(op_path) or {}
            op.update(status="Failed" if error else "Succeeded", endTime=now_iso())
            if error:
                op["error"] = error
            self.store.put(op_path, "operation", op)
            self._live_operations.discard(op_id)

        thread = threading.Thread(target=run, name=f"lro-{kind}-{op_id[:8]}", daemon=True)
        self._live_operations.add(op_id)
        thread.start()
        if kind != "deployment" or deleting:  # quick work is answered synchronously, as ARM may
            thread.join(self.sync_wait)
        op = self.store.get(op_path) or {}
        if op.get("status") == "Succeeded":
            if deleting:
                return Response(204)
            return Response.json(201 if created else 200, self._get(rid, kind))
        api_version = req.query.get("api-version", "")
        headers = {
            "Azure-AsyncOperation": f"{self.base_url}{op_path}?api-version={api_version}",
            "Retry-After": "1",
        }
        if deleting:
            return Response(202, b"", {**headers, "Location": f"{self.base_url}{op_path}?api-version={api_version}"})
        return Response.json(201 if created else 200, self._get(rid, kind), headers)

    def get_operation(self, req: Request, **p: str) -> Response:
        op_path = f"/subscriptions/{p['sub']}/providers/{PROVIDER}/locations/{p['loc']}/mfeOperationsStatus/{p['op']}"
        op = self.store.get(op_path)
        if op is None:
            raise not_found("operation", p["op"])
        if p["kind"].lower() == "mfeoperationresults":  # a Location poll: 202 until done, then 200
            return Response(202 if op["status"] == "InProgress" else 200, b"", {"Retry-After": "1"})
        return Response.json(200, {k: v for k, v in op.items() if k not in ("resourceId", "kind")},
                             {"Retry-After": "1"} if op["status"] == "InProgress" else {})

    def _set_state(self, rid: str, kind: str, state: str, reason: str | None = None) -> None:
        with self.store.transaction():
            doc = self.store.get(rid)
            if doc is None:
                return
            doc["properties"]["provisioningState"] = state
            if kind == "deployment":
                doc["properties"]["failureReason"] = reason if state == "Failed" else None
            self.store.put(rid, kind, doc)

    def busy_operations(self) -> list[Doc]:
        return [op for op in self.store.of_kind("operation") if op["status"] == "InProgress"]

    # -- helpers -----------------------------------------------------------------------------------------------
    def _get(self, rid: str, kind: str, what: str | None = None) -> Doc:
        doc = self.store.get(rid)
        if doc is None:
            raise not_found(what or kind.replace("-", " "), rid.rsplit("/", 1)[-1])
        return doc

    def _server_secret(self) -> bytes:
        doc = self.store.get("/amlops/secret")
        if doc is None:
            doc = self.store.put("/amlops/secret", "secret", {"value": secrets.token_hex(32)})
        return bytes.fromhex(doc["value"])


def _public_id(resource_id: str) -> str:
    """Registry assets are known by `azureml://registries/<r>/...` ids, workspace ones by ARM ids."""
    m = re.match(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/registries/(.+)$", resource_id,
                 re.IGNORECASE)
    return f"azureml://registries/{m.group(1)}" if m else resource_id


def _workspace_prefix(resource_id: str) -> str:
    """The workspace (or registry) id a child resource id lives under."""
    m = re.match(r"^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/(?:workspaces|registries)/[^/]+)",
                 resource_id, re.IGNORECASE)
    if not m:
        raise ArmError(400, "BadArgument", f"'{resource_id}' is not a workspace resource id.")
    return m.group(1)


def _view_matches(doc: Doc, view: str | None) -> bool:
    archived = bool(doc["properties"].get("isArchived"))
    view = (view or "ActiveOnly").lower()
    return view == "all" or (view == "archivedonly") == archived


def _check_immutable(assets: str, old: Doc, new: Doc) -> None:
    """Azure refuses to change what an asset version points to; metadata may change."""
    fields = {"models": ("modelUri",), "environments": ("condaFile", "image"), "codes": ("codeUri",)}[assets]
    for field in fields:
        if field in new and new.get(field) != old.get(field):
            if assets == "codes" and old.get("isAnonymous"):
                continue
            raise ArmError(409, "UserError", f"Asset paths cannot be updated ({field} of an existing version).")


def _mlflow_config(model_path: Path) -> dict[str, Any]:
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
        config.update(flavor="sklearn", pickled_model=flavors["sklearn"].get("pickled_model", "model.pkl"),
                      serialization_format=flavors["sklearn"].get("serialization_format", "pickle"))
    elif pyfunc:
        config.update(flavor="python_function")
    else:
        raise ProvisionError(f"MLflow flavors {sorted(flavors)} cannot be served locally.")
    return config

