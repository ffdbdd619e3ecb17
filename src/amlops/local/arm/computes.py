"""Compute clusters (AmlCompute): what jobs run on. Locally a cluster is a limit, not machines: at most
`scaleSettings.maxNodeCount` of its steps run at once (see jobs/runner.py)."""

from __future__ import annotations

import re

from amlops.local.arm.common import PROVIDER, system_data
from amlops.local.arm.workspaces import Workspaces
from amlops.local.connection import LOCATION
from amlops.local.store import Doc
from amlops.local.web import ArmError, Request, Response

# Azure ML: "Compute name must be between 2 and 16 characters long. Valid characters are letters, digits and
# the - character", starting with a letter (learn.microsoft.com/azure/machine-learning/how-to-create-attach-compute-cluster).
COMPUTE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,15}$")
SERVERLESS = "serverless"  # jobs without a cluster: Azure's serverless compute


class Computes(Workspaces):
    def compute_id(self, p: dict[str, str]) -> str:
        return f"{self.workspace(p)['id']}/computes/{p['name']}"

    def list_computes(self, req: Request, **p: str) -> Response:
        return Response.json(200, {"value": self.store.children(self.workspace(p)["id"] + "/computes", "compute")})

    def get_compute(self, req: Request, **p: str) -> Response:
        return Response.json(200, self._get(self.compute_id(p), "compute"))

    def put_compute(self, req: Request, **p: str) -> Response:
        name = p["name"]
        if not COMPUTE_NAME.match(name) or name.lower() == SERVERLESS:
            raise ArmError(
                400,
                "BadArgument",
                f"Compute name '{name}' is invalid: 2-16 characters, letters, digits and '-', starting with a letter.",
            )
        body = req.json()
        props = dict(body.get("properties") or {})
        if props.get("computeType") != "AmlCompute":
            raise ArmError(
                400,
                "BadArgument",
                f"computeType {props.get('computeType')!r}: the local control plane runs jobs on AmlCompute clusters only.",
            )
        inner = dict(props.get("properties") or {})
        scale = dict(inner.get("scaleSettings") or {})
        scale.setdefault("minNodeCount", 0)
        scale.setdefault("maxNodeCount", 1)
        if not 0 <= int(scale["minNodeCount"]) <= int(scale["maxNodeCount"]) or int(scale["maxNodeCount"]) < 1:
            raise ArmError(
                400, "BadArgument", f"scaleSettings {scale}: need 0 <= minNodeCount <= maxNodeCount, maxNodeCount >= 1."
            )
        inner["scaleSettings"] = scale
        inner.setdefault("vmSize", "STANDARD_DS3_V2")
        inner.setdefault("vmPriority", "Dedicated")
        cid = self.compute_id(p)
        existing = self.store.get(cid)
        doc: Doc = {
            "id": cid,
            "name": name,
            "type": f"{PROVIDER}/workspaces/computes",
            "location": body.get("location") or LOCATION,
            "tags": body.get("tags") or {},
            "identity": body.get("identity"),
            "properties": {**props, "properties": inner, "provisioningState": "Succeeded", "provisioningErrors": None},
            "systemData": system_data(existing),
        }
        self.store.put(cid, "compute", doc)
        return Response.json(200 if existing else 201, doc)

    def delete_compute(self, req: Request, **p: str) -> Response:
        cid = self.compute_id(p)
        self._get(cid, "compute")
        self.store.delete(cid)
        return Response(200)

    def cluster(self, workspace_id: str, compute: str | None) -> Doc | None:
        """The cluster a job names (an ARM id or a name), None for serverless; unknown names are refused."""
        name = (compute or SERVERLESS).rstrip("/").rsplit("/", 1)[-1]
        if name.lower() in (SERVERLESS, "azureml:serverless"):
            return None
        name = name.removeprefix("azureml:")
        doc = self.store.get(f"{workspace_id}/computes/{name}")
        if doc is None:
            raise ArmError(
                400,
                "UserError",
                f"Compute '{name}' does not exist in this workspace: create the cluster first, or use serverless.",
            )
        return doc
