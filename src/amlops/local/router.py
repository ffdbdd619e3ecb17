"""The scoring router behind every endpoint's scoring URI: authenticates like Azure (key or AML token),
picks a deployment by the traffic weights or the `azureml-model-deployment` header, copies the mirror
share to mirrored deployments (answering from the live one), applies scoring faults, and records the
per-deployment metrics. Each request gets an `x-request-id`, as Azure's front end gives one (the inference
server passes it to the scoring script and answers with it); deployments that collect `request` and
`response` have both logged here under it, as Azure's data collector logs payloads outside the model.

Traffic is split by smooth weighted round-robin and mirroring by an accumulator, not by dice: 90/10
sends exactly 9 of every 10 requests to the first deployment, so tests and gates see exact shares."""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from amlops.local import tokens
from amlops.local.arm import ControlPlane
from amlops.local.datacollector import event
from amlops.local.faults import Faults, Share
from amlops.local.metrics import ScoringMetrics
from amlops.local.serving import UnixHTTPConnection
from amlops.local.store import Doc
from amlops.local.web import ArmError, Request, Response

DEPLOYMENT_HEADER = "azureml-model-deployment"
REQUEST_ID = "x-request-id"
_RESTORE_WAIT_S = 60.0


def parse_scoring_path(path: str) -> tuple[str, str, str] | None:
    """(workspace guid, endpoint, rest) for `/endpoints/<guid>/<endpoint>/<rest>`."""
    parts = urlsplit(path).path.split("/")
    if len(parts) < 5 or parts[1] != "endpoints":
        return None
    return parts[2], parts[3], "/".join(parts[4:])


def request_timeout_s(deployment: Doc) -> float:
    """requestSettings.requestTimeout (ISO 8601, e.g. PT5S or PT0.5S); Azure's default is 5 s."""
    raw = ((deployment["properties"].get("requestSettings") or {}).get("requestTimeout")) or "PT5S"
    m = re.match(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$", raw)
    if not m:
        return 5.0
    h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    return h * 3600 + mi * 60 + s or 5.0


class ScoringRouter:
    def __init__(self, plane: ControlPlane, metrics: ScoringMetrics, faults: Faults, token: str) -> None:
        """`token`: the control plane's credential, what a Microsoft Entra (AAD token) endpoint accepts."""
        self.plane, self.metrics, self.faults, self.token = plane, metrics, faults, token
        self._lock = threading.Lock()
        self._current: dict[str, dict[str, float]] = {}  # smooth WRR state per endpoint
        self._mirror = Share()
        self._mirror_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mirror")

    def workspace_by_guid(self, guid: str) -> Doc | None:
        return next((w for w in self.plane.store.of_kind("workspace") if w["properties"]["workspaceId"] == guid), None)

    def handle(self, req: Request) -> Response:
        try:
            return self._handle(req)
        except ArmError as exc:
            return exc.response()

    def _handle(self, req: Request) -> Response:
        parsed = parse_scoring_path(req.path)
        if parsed is None:
            raise ArmError(404, "NotFound", "No such scoring route.")
        guid, endpoint_name, rest = parsed
        ws = self.workspace_by_guid(guid)
        endpoint = self.plane.store.get(f"{ws['id']}/onlineEndpoints/{endpoint_name}") if ws else None
        if ws is None or endpoint is None:
            raise ArmError(404, "EndpointNotFound", f"Endpoint '{endpoint_name}' does not exist.")
        self._authenticate(req, endpoint)
        req.headers[REQUEST_ID] = str(uuid.uuid4())
        deployments = {d["name"].lower(): d for d in self.plane.store.children(endpoint["id"] + "/deployments", "deployment")}
        wanted = req.headers.get(DEPLOYMENT_HEADER)
        if wanted:
            target = deployments.get(wanted.lower())
            if target is None:
                raise ArmError(404, "DeploymentNotFound", f"Deployment '{wanted}' does not exist on endpoint '{endpoint_name}'.")
        else:
            target = self._pick(endpoint, deployments)
            for name, share in (endpoint["properties"].get("mirrorTraffic") or {}).items():
                mirrored = deployments.get(name.lower())
                if mirrored and self._mirror.hit(f"{endpoint['id']}/{name}".lower(), share / 100):
                    self._mirror_pool.submit(self._forward, ws, endpoint, mirrored, req, rest, True)
        return self._forward(ws, endpoint, target, req, rest, False)

    def _authenticate(self, req: Request, endpoint: Doc) -> None:
        auth = req.headers.get("authorization", "")
        credential = auth[7:].strip() if auth.lower().startswith("bearer ") else auth.strip()
        mode = (endpoint["properties"].get("authMode") or "Key").lower()
        if mode == "key":
            keys = self.plane.endpoint_keys(endpoint["id"])
            ok = bool(credential) and credential in (keys.get("primaryKey"), keys.get("secondaryKey"))
        elif mode == "amltoken":
            ok = bool(credential) and self.plane.token_valid(endpoint["id"], credential)
        else:  # AADToken: the token of the identity the control plane stands in for, its own credential
            ok = tokens.valid(self.token, credential)
        if not ok:
            raise ArmError(
                401, "Unauthorized", "Missing or invalid credentials for this endpoint.", {"WWW-Authenticate": "Bearer"}
            )

    def _pick(self, endpoint: Doc, deployments: dict[str, Doc]) -> Doc:
        """Smooth weighted round-robin over deployments with positive traffic."""
        weights = {
            n.lower(): w for n, w in (endpoint["properties"].get("traffic") or {}).items() if w > 0 and n.lower() in deployments
        }
        if not weights:
            raise ArmError(
                424,
                "NoValidDeployments",
                "No valid deployments to route to. Please check that the endpoint has at least one"
                " deployment with positive weight values or use a deployment specific header to route.",
            )
        total = sum(weights.values())
        with self._lock:
            current = self._current.setdefault(endpoint["id"].lower(), {})
            for name, weight in weights.items():
                current[name] = current.get(name, 0.0) + weight
            for stale in set(current) - set(weights):
                del current[stale]
            chosen = max(sorted(weights), key=lambda n: current[n])
            current[chosen] -= total
        return deployments[chosen]

    def _forward(self, ws: Doc, endpoint: Doc, deployment: Doc, req: Request, rest: str, mirrored: bool) -> Response:
        key = self.plane.serving_key(deployment["id"])
        metric_key = tuple(key.split("/"))  # (workspace guid, endpoint, deployment)
        started = time.perf_counter()
        response = self._call(ws, endpoint, deployment, key, req, rest)
        if rest == "score":
            latency = (time.perf_counter() - started) * 1000
            self.metrics.record(metric_key, response.status, latency, mirrored)  # type: ignore[arg-type]
            self._collect(key, req, rest, response)
        response.headers[DEPLOYMENT_HEADER] = deployment["name"]
        response.headers[REQUEST_ID] = req.headers[REQUEST_ID]
        return response

    def _collect(self, key: str, req: Request, rest: str, response: Response) -> None:
        """Payload logging: the request and its response as rows of collections `request` and `response`,
        sampled together, correlated by the request's id (the docs' "Perform payload logging" rows)."""
        sink = self.plane.supervisor.sink(key)
        if sink is None:
            return
        query = urlsplit(req.path).query
        path = f"/{rest}" + (f"?{query}" if query else "")
        logged: tuple[tuple[str, bytes, str, dict[str, str]], ...] = (
            ("request", req.body, req.headers.get("content-type", ""), {"path": path, "method": req.method}),
            ("response", response.body, response.headers.get("Content-Type", ""), {}),
        )
        draw = random.random()
        for name, body, content_type, extra in logged:
            collection = sink.spec.get(name)
            if collection is not None and draw < collection.sampling_rate:
                sink.write(name, event(sink.spec.source, name, body, content_type, req.headers[REQUEST_ID], extra=extra))

    def _call(self, ws: Doc, endpoint: Doc, deployment: Doc, key: str, req: Request, rest: str) -> Response:
        latency_ms, fail_status = self.faults.scoring_fault(ws["name"], endpoint["name"], deployment["name"])
        if latency_ms:
            time.sleep(latency_ms / 1000)
        if fail_status:
            return ArmError(fail_status, "InjectedFault", "Injected scoring failure.").response()
        state = deployment["properties"].get("provisioningState")
        sock = self.plane.supervisor.wait_socket(key, _RESTORE_WAIT_S if state == "Succeeded" else 0)
        if sock is None:
            raise ArmError(503, "DeploymentNotReady", f"Deployment '{deployment['name']}' is not serving (state {state}).")
        timeout = request_timeout_s(deployment)
        conn = UnixHTTPConnection(sock, timeout=timeout)
        headers = {k: v for k, v in req.headers.items() if k in ("content-type", "accept", "x-ms-client-request-id", REQUEST_ID)}
        try:
            conn.request(req.method, f"/{rest}", body=req.body or None, headers=headers)
            upstream = conn.getresponse()
            body = upstream.read()
        except TimeoutError:
            return ArmError(
                408, "RequestTimeout", f"The model did not answer within the request timeout ({timeout:g}s)."
            ).response()
        except OSError as exc:
            return ArmError(502, "BadGateway", f"The deployment's inference server failed: {exc}").response()
        finally:
            conn.close()
        content_type = upstream.getheader("Content-Type") or "application/json"
        return Response(upstream.status, body, {"Content-Type": content_type})
