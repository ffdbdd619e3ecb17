"""Admin routes under `/_local/` (not part of Azure's API): health, the request log and counters,
per-deployment scoring metrics, fault injection, and creating workspaces and registries up front.
They want the control plane's bearer token, like its ARM routes (server.App checks it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from amlops.local.arm import WS, ControlPlane, workspace_guid
from amlops.local.connection import DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION
from amlops.local.faults import Faults
from amlops.local.metrics import RequestLog, ScoringMetrics
from amlops.local.web import ArmError, Request, Response, Route, match, route


class Admin:
    def __init__(
        self,
        plane: ControlPlane,
        requests: RequestLog,
        metrics: ScoringMetrics,
        faults: Faults,
        health: Callable[[], dict[str, Any]],
    ) -> None:
        self.plane, self.requests, self.metrics, self.faults = plane, requests, metrics, faults
        self._health = health
        self.routes: list[Route] = [
            route("GET", "/_local/health", self.health),
            route("GET", "/_local/requests", self.get_requests),
            route("POST", "/_local/requests/reset", self.reset_requests),
            route("GET", "/_local/metrics", self.get_metrics),
            route("POST", "/_local/metrics/reset", self.reset_metrics),
            route("GET", "/_local/faults", self.get_faults),
            route("POST", "/_local/faults", self.add_faults),
            route("DELETE", "/_local/faults", self.clear_faults),
            route("GET", "/_local/deployments", self.deployments),
            route("PUT", "/_local/workspaces/{name}", self.put_workspace),
            route("PUT", "/_local/registries/{name}", self.put_registry),
        ]

    def handle(self, req: Request) -> Response:
        try:
            found = match(self.routes, req.method, req.path)
            if found is None:
                raise ArmError(404, "NotFound", f"No admin route {req.path}.")
            r, params = found
            return r.handler(req, **params)
        except ArmError as exc:
            return exc.response()

    def health(self, req: Request) -> Response:
        return Response.json(200, self._health())

    def get_requests(self, req: Request) -> Response:
        limit = int(req.query.get("log", "200"))
        return Response.json(200, self.requests.snapshot(limit, req.query.get("kind")))

    def reset_requests(self, req: Request) -> Response:
        self.requests.reset()
        return Response.json(200, {"reset": time.time()})

    def _scope(self, req: Request) -> str:
        """Workspace guid from ?workspace=&resource_group=&subscription= (defaults: the default workspace)."""
        q = req.query
        ws_id = WS.format(
            sub=q.get("subscription", DEFAULT_SUBSCRIPTION),
            rg=q.get("resource_group", DEFAULT_RESOURCE_GROUP),
            ws=q.get("workspace", "local"),
        )
        return workspace_guid(ws_id)

    def get_metrics(self, req: Request) -> Response:
        endpoint = req.query.get("endpoint")
        if not endpoint:
            raise ArmError(400, "BadArgument", "Query parameter 'endpoint' is required.")
        since = float(req.query["since"]) if req.query.get("since") else None
        return Response.json(
            200,
            {
                "workspace": req.query.get("workspace", "local"),
                "endpoint": endpoint,
                "since": since,
                "now": time.time(),
                "deployments": self.metrics.summary(self._scope(req), endpoint.lower(), since),
            },
        )

    def reset_metrics(self, req: Request) -> Response:
        endpoint = req.query.get("endpoint")
        self.metrics.reset(self._scope(req) if "workspace" in req.query else None, endpoint.lower() if endpoint else None)
        return Response.json(200, {"reset": time.time()})

    def get_faults(self, req: Request) -> Response:
        return Response.json(200, self.faults.snapshot())

    def add_faults(self, req: Request) -> Response:
        try:
            return Response.json(200, self.faults.update(req.json()))
        except (TypeError, ValueError) as exc:
            raise ArmError(400, "BadArgument", f"Invalid fault settings: {exc}") from exc

    def clear_faults(self, req: Request) -> Response:
        self.faults.clear()
        return Response.json(200, self.faults.snapshot())

    def deployments(self, req: Request) -> Response:
        out = []
        for doc in self.plane.store.of_kind("deployment"):
            key = self.plane.serving_key(doc["id"])
            out.append(
                {
                    "id": doc["id"],
                    "key": key,
                    "state": doc["properties"]["provisioningState"],
                    "socket": self.plane.supervisor.socket(key),
                    "pid": self.plane.supervisor.pid(key),
                }
            )
        return Response.json(200, {"value": out})

    def put_workspace(self, req: Request, name: str) -> Response:
        q = req.query
        params = {
            "sub": q.get("subscription", DEFAULT_SUBSCRIPTION),
            "rg": q.get("resource_group", DEFAULT_RESOURCE_GROUP),
            "ws": name,
        }
        return Response.json(200, self.plane.workspace(params))

    def put_registry(self, req: Request, name: str) -> Response:
        existing = self.plane.registry_by_name(name)
        if existing:
            return Response.json(200, existing)
        q = req.query
        params = {
            "sub": q.get("subscription", DEFAULT_SUBSCRIPTION),
            "rg": q.get("resource_group", DEFAULT_RESOURCE_GROUP),
            "reg": name,
        }
        return Response.json(200, self.plane.registry(params))
