"""Long-running operations (endpoint and deployment writes) run on a worker thread. One that finishes
within `sync_wait` (a deployment PUT is not waited for) is answered synchronously (200/201/204 with its
final state), the others with 200/201/202, `Azure-AsyncOperation` and `Retry-After: 1`, as ARM does.
Operations are stored, so clients can poll them across a restart."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from amlops.local.arm.common import BUSY, PROVIDER, PlaneBase, now_iso
from amlops.local.connection import LOCATION
from amlops.local.serving import ProvisionError
from amlops.local.store import Doc
from amlops.local.web import ArmError, Request, Response, not_found


class Operations(PlaneBase):
    def _long_running(
        self,
        req: Request,
        rid: str,
        kind: str,
        work: Callable[[], None],
        created: bool = False,
        deleting: bool = False,
    ) -> Response:
        op_id = uuid.uuid4().hex
        sub = rid.split("/")[2]
        op_path = f"/subscriptions/{sub}/providers/{PROVIDER}/locations/{LOCATION}/mfeOperationsStatus/{op_id}"
        self.store.put(
            op_path,
            "operation",
            {"id": op_path, "name": op_id, "status": "InProgress", "startTime": now_iso(), "resourceId": rid, "kind": kind},
        )

        def run() -> None:
            error: Doc | None = None
            try:
                work()
                if not deleting:
                    self._set_state(rid, kind, "Succeeded")
            except (ProvisionError, ArmError) as exc:
                error = {"code": "DeploymentFailed" if kind == "deployment" else "OperationFailed", "message": str(exc)}
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
        return Response.json(
            200,
            {k: v for k, v in op.items() if k not in ("resourceId", "kind")},
            {"Retry-After": "1"} if op["status"] == "InProgress" else {},
        )

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

    def _settle_operations(self) -> None:
        """Operations whose worker died with the previous process take their resource's outcome."""
        for op in self.busy_operations():
            if op["name"] in self._live_operations:
                continue
            doc = self.store.get(op["resourceId"])
            state = doc["properties"]["provisioningState"] if doc else "Succeeded"
            if state in BUSY:
                continue
            op.update(status="Failed" if state == "Failed" else "Succeeded", endTime=now_iso())
            if doc and state == "Failed":
                op["error"] = {"code": "DeploymentFailed", "message": doc["properties"].get("failureReason") or ""}
            self.store.put(op["id"], "operation", op)
