"""Online endpoints: traffic and mirror traffic validation, keys, and aml_token tokens."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
import uuid

from amlops.local.arm.common import RESOURCE_NAME, ZERO_GUID
from amlops.local.arm.operations import Operations
from amlops.local.arm.workspaces import Workspaces
from amlops.local.store import Doc, key_of
from amlops.local.web import ArmError, Request, Response


class Endpoints(Workspaces, Operations):
    def endpoint_id(self, p: dict[str, str]) -> str:
        return f"{self.workspace(p)['id']}/onlineEndpoints/{p['endpoint']}"

    def list_endpoints(self, req: Request, **p: str) -> Response:
        docs = self.store.children(self.workspace(p)["id"] + "/onlineEndpoints", "endpoint")
        return Response.json(200, {"value": docs})

    def get_endpoint(self, req: Request, **p: str) -> Response:
        return Response.json(200, self._get(self.endpoint_id(p), "endpoint", "online endpoint"))

    def put_endpoint(self, req: Request, **p: str) -> Response:
        name = p["endpoint"]
        if not RESOURCE_NAME.match(name):
            raise ArmError(
                400,
                "BadArgument",
                f"Endpoint name '{name}' is invalid: it must be 3-32 characters, start with a letter, end with a"
                " letter or digit, and contain only letters, digits and '-'.",
            )
        eid = self.endpoint_id(p)
        body, existing, props = self._merge_put(req, eid, "online endpoint", name, "OnlineEndpoint")
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
        identity = (
            body.get("identity")
            or (existing or {}).get("identity")
            or {"type": "SystemAssigned", "principalId": str(uuid.uuid4()), "tenantId": ZERO_GUID}
        )
        doc = self._put_doc(eid, "onlineEndpoints", body, existing, identity=identity, properties=props)
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
                raise ArmError(400, "BadArgument", f"The {label} names deployments that do not exist: {', '.join(unknown)}.")
            bad = sorted(n for n, v in weights.items() if not 0 <= v <= 100)
            if bad:
                raise ArmError(400, "BadArgument", f"The {label} of {', '.join(bad)} must be between 0 and 100.")
        if sum(traffic.values()) > 100:
            raise ArmError(400, "BadArgument", f"Traffic values must sum to at most 100, got {sum(traffic.values())}.")
        if sum(mirror.values()) > 50:
            raise ArmError(400, "BadArgument", "Mirror traffic cannot exceed 50% in total.")
        both = sorted(n for n, v in mirror.items() if v and traffic.get(n))
        if both:
            raise ArmError(400, "BadArgument", f"Deployment(s) {', '.join(both)} cannot receive live and mirror traffic at once.")

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
                self.supervisor.forget(self.serving_key(dep["id"]))
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
        body = self._body(req, "RegenerateEndpointKeysRequest")
        which = (body.get("keyType") or "Primary").lower()
        new = body.get("keyValue") or secrets.token_urlsafe(32)
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
        return Response.json(
            200, {"accessToken": token, "tokenType": "Bearer", "expiryTimeUtc": expiry, "refreshAfterTimeUtc": expiry - 600}
        )

    def token_valid(self, eid: str, token: str) -> bool:
        claims, _, sig = token.partition(".")
        if not hmac.compare_digest(sig, hmac.new(self._secret, claims.encode(), "sha256").hexdigest()):
            return False
        doc = json.loads(base64.urlsafe_b64decode(claims.encode()))
        return doc["e"] == key_of(eid) and doc["exp"] > time.time()
