"""Versioned assets (models, environments, codes) in a workspace or a registry: containers, versions,
pending uploads, and the registry's own upload references and model import (`models.share`)."""

from __future__ import annotations

import re
import uuid
from importlib.resources import files
from urllib.parse import unquote, urlsplit

from amlops.local.arm import spec
from amlops.local.arm.common import ASSET_NAME, ASSETS, PROVIDER, public_id, storage_account, system_data, workspace_prefix
from amlops.local.arm.registries import Registries
from amlops.local.arm.workspaces import Workspaces
from amlops.local.store import Doc, key_of
from amlops.local.web import ArmError, Request, Response, not_found

#: Served at connection.MLTABLE_SCHEMA_PATH, as Azure's schema host serves its own; no credential needed, as there.
MLTABLE_SCHEMA = files("amlops.schemas").joinpath("MLTable.schema.json")

#: The spec's definitions of each asset collection's `<name>Container` and `<name>Version` bodies.
#: The REST spec's (container, version) definitions of each asset kind's request bodies.
_DEFINITIONS = {
    "models": ("ModelContainer", "ModelVersion"),
    "environments": ("EnvironmentContainer", "EnvironmentVersion"),
    "codes": ("CodeContainer", "CodeVersion"),
    "components": ("ComponentContainer", "ComponentVersion"),
    "data": ("DataContainer", "DataVersionBase"),
}


class Assets(Workspaces, Registries):
    def mltable_schema(self, req: Request, **p: str) -> Response:
        """The MLTable schema, which azure-ai-ml fetches from Azure's schema host before registering an mltable
        data asset (and checks the file with): amlops's, written from Microsoft's MLTable reference."""
        return Response(200, MLTABLE_SCHEMA.read_bytes(), {"Content-Type": "application/json"})

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
        props = self._body(req, _DEFINITIONS[assets][0]).get("properties") or {}
        with self.store.transaction():
            doc = self._container(cid, assets, p["name"])
            doc["properties"].update({k: v for k, v in props.items() if v is not None})
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
        scope = self._scope(p)
        wanted_hash = req.query.get("hash")
        if wanted_hash:  # the SDK looks code up by content hash under a fresh name: search the whole scope
            prefix = key_of(f"{scope}/{assets}/")
            docs = [d for d in self.store.of_kind(f"{assets}-version") if key_of(d["id"]).startswith(prefix)]
            docs = [d for d in docs if wanted_hash in ((d["properties"].get("properties") or {}).values())]
        else:
            docs = self.store.children(f"{scope}/{assets}/{p['name']}/versions", f"{assets}-version")
        docs = [d for d in docs if _view_matches(d, req.query.get("listViewType"))]
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
        if not ASSET_NAME.match(name):
            raise ArmError(400, "UserError", f"Invalid asset name '{name}'.")
        scope = self._scope(p)
        body = req.json()
        legacy = _registry_model_metadata(body) if "reg" in p and assets == "models" else {}
        checked = spec.check(body, _DEFINITIONS[assets][1]).get("properties") or {}
        props = {k: v for k, v in {**checked, **legacy}.items() if v is not None}
        doc = self._write_version(scope, assets, name, version, props)
        return Response.json(200, doc)

    def _write_version(self, scope: str, assets: str, name: str, version: str, props: Doc) -> Doc:
        cid = f"{scope}/{assets}/{name}"
        vid = f"{cid}/versions/{version}"
        with self.store.transaction():
            existing = self.store.get(vid)
            if existing is not None and existing["properties"].get("isAnonymous") and assets != "codes":
                return existing  # anonymous versions are named by the SDK after their content: the first one stays
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
                "id": public_id(vid),
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
            "id": public_id(cid),
            "name": name,
            "type": f"{PROVIDER}/{cid.split('/')[-4]}/{assets}",
            "properties": {
                "description": None,
                "tags": {},
                "properties": {},
                "isArchived": False,
                "latestVersion": None,
                "nextVersion": "1",
            },
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
        self._body(req, "PendingUploadRequestDto")
        container = f"upload-{uuid.uuid4().hex}"
        return Response.json(200, self._blob_reference(scope, container))

    def _blob_reference(self, scope: str, container: str) -> Doc:
        account = storage_account(scope)
        url = self.blobs.url(account, container)
        sas = self.container_sas(account, container)
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

    # -- a registry's upload references and model import --------------------------------------------------
    # azure-ai-ml calls these on the registry's data-plane api-version (azure/ai/ml/_utils/_registry_utils.py);
    # only datarefs' body (GetBlobReferenceSASRequestDto) is in the ARM specification, so only it is checked.
    def registry_temp_ref(self, req: Request, **p: str) -> Response:
        scope = self.registry(p)["id"]
        if self.store.get(f"{scope}/models/{p['name']}/versions/{p['version']}") is not None:
            raise ArmError(409, "Conflict", f"Asset {p['name']}:{p['version']} already exists in registry.")
        return Response.json(200, self._blob_reference(scope, f"upload-{uuid.uuid4().hex}"))

    def registry_data_ref(self, req: Request, **p: str) -> Response:
        scope = self.registry(p)["id"]
        uri = self._body(req, "GetBlobReferenceSASRequestDto").get("blobUri") or ""
        account = storage_account(scope)
        parts = urlsplit(uri)
        if parts.hostname != urlsplit(self.blobs.url(account, "c")).hostname:
            raise ArmError(400, "UserError", f"blobUri '{uri}' is not in the registry's storage account.")
        ref = self._blob_reference(scope, "data")["blobReferenceForConsumption"]
        sas = self.container_sas(account, unquote(parts.path).lstrip("/").partition("/")[0])
        return Response.json(
            200,
            {
                "blobReferenceForConsumption": {
                    **ref,
                    "blobUri": uri,
                    "credential": {"credentialType": "SAS", "sasUri": f"{uri}?{sas}"},
                }
            },
        )

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

    def _copy_model(self, model: Doc, registry_id: str, name: str, version: str) -> None:
        source = self.local_path(model["properties"]["modelUri"], model["id"])
        if source is None or not source.exists():
            raise ArmError(400, "UserError", f"The files of model {model['id']} are not in local storage.")
        container = f"{name}-{version}".lower()
        self.blobs.copy_tree(source, storage_account(registry_id), container, source.name)
        props = {k: v for k, v in model["properties"].items() if k not in ("provisioningState",)}
        props["modelUri"] = self.blobs.url(storage_account(registry_id), container, source.name)
        self._write_version(registry_id, "models", name, version, props)

    def _get_by_ref(self, ref: str, kind: str, what: str, context_id: str) -> Doc:
        """An asset by ARM id or `azureml://registries/<r>/<assets>/<n>/versions/<v>`."""
        m = re.match(r"^azureml://registries/([^/]+)/(\w+)/([^/]+)/versions/([^/]+)$", ref)
        if m:
            reg = self.registry_by_name(m.group(1))
            if reg is None:
                raise not_found("registry", m.group(1))
            ref = f"{reg['id']}/{m.group(2)}/{m.group(3)}/versions/{m.group(4)}"
        elif ref.startswith("azureml:") and not ref.startswith("azureml://"):
            name, _, version = ref[len("azureml:") :].partition(":")
            ref = f"{workspace_prefix(context_id)}/{kind.split('-')[0]}/{name}/versions/{version}"
        return self._get(ref, kind, what)


def _registry_model_metadata(body: Doc) -> Doc:
    """Takes out the one member beyond the spec that azure-ai-ml sends when it creates a registry model:
    `properties.system_metadata` (an object), which its model_dataplane client adds to the ARM body on
    the same route (azure/ai/ml/_restclient/model_dataplane/operations/_patch.py, "byte-identical to the
    legacy v2021_10" client). The service takes it; anything else stays subject to the spec."""
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict) or "system_metadata" not in props:
        return {}
    value = props.pop("system_metadata")
    if value is not None and not isinstance(value, dict):
        raise ArmError(
            400, "InvalidRequestContent", "properties.system_metadata must be an object. Path 'properties.system_metadata'."
        )
    return {"system_metadata": value}


def _view_matches(doc: Doc, view: str | None) -> bool:
    archived = bool(doc["properties"].get("isArchived"))
    view = (view or "ActiveOnly").lower()
    return view == "all" or (view == "archivedonly") == archived


def _check_immutable(assets: str, old: Doc, new: Doc) -> None:
    """Azure refuses to change what an asset version points to; metadata may change."""
    fields = {
        "models": ("modelUri",),
        "environments": ("condaFile", "image"),
        "codes": ("codeUri",),
        "components": ("componentSpec",),
        "data": ("dataUri",),
    }[assets]
    for field in fields:
        if field in new and new.get(field) != old.get(field):
            if assets == "codes" and old.get("isAnonymous"):
                continue
            raise ArmError(409, "UserError", f"Asset paths cannot be updated ({field} of an existing version).")
