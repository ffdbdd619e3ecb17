"""Serverless endpoints: a registry model offered as a keyed API, provisioned at once."""

from __future__ import annotations

import secrets

from amlops.local.arm.common import PROVIDER, RESOURCE_NAME, system_data
from amlops.local.arm.endpoints import Endpoints
from amlops.local.connection import LOCATION
from amlops.local.web import ArmError, Request, Response


class Serverless(Endpoints):
    def list_serverless(self, req: Request, **p: str) -> Response:
        return Response.json(200, {"value": self.store.children(self.workspace(p)["id"] + "/serverlessEndpoints", "serverless")})

    def get_serverless(self, req: Request, **p: str) -> Response:
        sid = f"{self.workspace(p)['id']}/serverlessEndpoints/{p['name']}"
        return Response.json(200, self._get(sid, "serverless", "serverless endpoint"))

    def put_serverless(self, req: Request, **p: str) -> Response:
        name = p["name"]
        if not RESOURCE_NAME.match(name):
            raise ArmError(400, "BadArgument", f"Serverless endpoint name '{name}' is invalid (3-32 characters).")
        ws = self.workspace(p)
        sid = f"{ws['id']}/serverlessEndpoints/{name}"
        body = self._body(req, "ServerlessEndpoint")
        props = dict(body.get("properties") or {})
        model_id = (props.get("modelSettings") or {}).get("modelId") or ""
        if not model_id.startswith("azureml://registries/"):
            raise ArmError(400, "BadArgument", f"modelSettings.modelId '{model_id}' is not a registry model id.")
        existing = self.store.get(sid)
        props.update(
            authMode=props.get("authMode") or "Key",
            provisioningState="Succeeded",
            endpointState="Online",
            inferenceEndpoint={"uri": f"{self.base_url}/serverless/{ws['properties']['workspaceId']}/{name}", "headers": {}},
        )
        doc = {
            **{k: v for k, v in body.items() if v is not None},
            "id": sid,
            "name": name,
            "type": f"{PROVIDER}/workspaces/serverlessEndpoints",
            "location": body.get("location") or LOCATION,
            "tags": body.get("tags") or {},
            "sku": body.get("sku") or {"name": "Consumption"},
            "properties": props,
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
