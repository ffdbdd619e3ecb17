"""What every part of the control plane shares: resource id templates, system data, storage account
names, and the state every mixin works on (`PlaneBase`)."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from amlops.local.arm import spec
from amlops.local.blobs import BlobStore, sas_allows, sas_token
from amlops.local.connection import LOCATION
from amlops.local.faults import Faults
from amlops.local.serving import Supervisor
from amlops.local.store import Doc, Store, key_of
from amlops.local.web import ArmError, Request, not_found

PROVIDER = "Microsoft.MachineLearningServices"
RG = "/subscriptions/{sub}/resourceGroups/{rg}"
WS = RG + f"/providers/{PROVIDER}/workspaces/{{ws}}"
REG = RG + f"/providers/{PROVIDER}/registries/{{reg}}"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
ASSETS = ("models", "environments", "codes", "components", "data")
RESOURCE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
ASSET_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,254}$")
BUSY = ("Creating", "Updating", "Deleting")


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


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


def storage_account(scope_id: str) -> str:
    """A valid storage account name (3-24 lower-case alphanumerics) per workspace or registry."""
    return "st" + hashlib.sha256(key_of(scope_id).encode()).hexdigest()[:20]


def public_id(resource_id: str) -> str:
    """Registry assets are known by `azureml://registries/<r>/...` ids, workspace ones by ARM ids."""
    m = re.match(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/registries/(.+)$", resource_id, re.IGNORECASE)
    return f"azureml://registries/{m.group(1)}" if m else resource_id


def workspace_prefix(resource_id: str) -> str:
    """The workspace (or registry) id a child resource id lives under."""
    m = re.match(
        r"^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/(?:workspaces|registries)/[^/]+)",
        resource_id,
        re.IGNORECASE,
    )
    if not m:
        raise ArmError(400, "BadArgument", f"'{resource_id}' is not a workspace resource id.")
    return m.group(1)


class PlaneBase:
    """The state the route mixins share; `ControlPlane.__init__` sets it."""

    store: Store
    blobs: BlobStore
    supervisor: Supervisor
    faults: Faults
    base_url: str
    provisioning_delay: float
    sync_wait: float
    _secret: bytes  # signs SAS URLs, datastore keys and endpoint tokens
    _live_operations: set[str]  # operations this process is working on

    def _get(self, rid: str, kind: str, what: str | None = None) -> Doc:
        doc = self.store.get(rid)
        if doc is None:
            raise not_found(what or kind.replace("-", " "), rid.rsplit("/", 1)[-1])
        return doc

    def container_sas(self, account: str, container: str, hours: float = 24) -> str:
        """A SAS for one container of the local storage, what the plane hands out for uploads and reads."""
        return sas_token(self._secret, account, container, hours)

    def blob_access_allowed(self, host: str, method: str, path: str, query: dict[str, str]) -> bool:
        container = path.lstrip("/").partition("/")[0]
        return sas_allows(self._secret, host.split(".")[0], container, method, query)

    def serving_key(self, deployment_id: str) -> str:
        """Stable key of a deployment for the supervisor and metrics: '<workspace guid>/<endpoint>/<name>'."""
        m = re.match(r"^(.*)/onlineEndpoints/([^/]+)/deployments/([^/]+)$", deployment_id, re.IGNORECASE)
        if not m:
            raise ValueError(f"not a deployment id: {deployment_id}")
        return f"{workspace_guid(m.group(1))}/{m.group(2).lower()}/{m.group(3).lower()}"

    @staticmethod
    def _body(req: Request, definition: str) -> Doc:
        """The request body checked against the REST API specification, without its read-only parts."""
        return spec.check(req.json(), definition)

    def _merge_put(self, req: Request, rid: str, what: str, name: str, definition: str) -> tuple[Doc, Doc | None, Doc]:
        """PUT or PATCH of an endpoint or deployment: PATCH needs one to exist, neither may overtake an
        operation in progress, and properties the body leaves out or nulls keep their stored value.
        Returns the (checked) body, the stored document and the merged properties."""
        body = self._body(req, definition)
        existing = self.store.get(rid)
        if existing is None and req.method == "PATCH":
            raise not_found(what, name)
        if existing is not None and existing["properties"]["provisioningState"] in BUSY:
            raise ArmError(409, "Conflict", f"{what.split()[-1].capitalize()} '{name}' has an operation in progress.")
        props = dict((existing or {}).get("properties") or {})
        props.update({k: v for k, v in (body.get("properties") or {}).items() if v is not None})
        return body, existing, props

    def _put_doc(self, rid: str, type_under_workspace: str, body: Doc, existing: Doc | None, **fields: Any) -> Doc:
        """The stored document of a PUT: every top-level field the body or the stored document sets
        (ARM keeps what it accepts), then `fields`, the resource's own."""
        return {
            **(existing or {}),
            **{k: v for k, v in body.items() if v is not None},
            "id": rid,
            "name": rid.rsplit("/", 1)[1],
            "type": f"{PROVIDER}/workspaces/{type_under_workspace}",
            "location": body.get("location") or (existing or {}).get("location") or LOCATION,
            "kind": body.get("kind") or (existing or {}).get("kind") or "Managed",
            "tags": body.get("tags") if body.get("tags") is not None else (existing or {}).get("tags") or {},
            **fields,
            "systemData": system_data(existing),
        }
