"""Client side helpers: an `MLClient` configured for a running local control plane, and a small wrapper
of the admin routes (request counters, scoring metrics, faults) for tests and the rollout side."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from azure.core.credentials import AccessToken

from amlops.local import tokens
from amlops.local.connection import Connection
from amlops.local.lifecycle import admin_call


class StaticTokenCredential:
    """Tokens signed with the secret the local control plane issued (in its connection.json): it refuses others."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(*tokens.issue(self.token, scopes[0] if scopes else ""))


def credential(conn: Connection) -> StaticTokenCredential:
    """A credential for the control plane, for clients other than the MLClient (e.g. its metrics route)."""
    return StaticTokenCredential(conn.token)


def configure_environment(conn: Connection) -> None:
    """Point this process's HTTP clients at the control plane: CA bundle, blob proxy, NO_PROXY.
    Overrides (not setdefault) because machines often preset REQUESTS_CA_BUNDLE."""
    os.environ.update(conn.env())


def ml_client(
    conn: Connection | Path | str | None = None,
    workspace: str | None = None,
    *,
    resource_group: str | None = None,
    registry: str | None = None,
    **options: Any,
) -> Any:
    """An `azure.ai.ml.MLClient` for a workspace (default: the connection's) or, with `registry=`, for
    a registry; `options` go to MLClient as they are (e.g. a `transport`). Sets REQUESTS_CA_BUNDLE,
    HTTPS_PROXY and NO_PROXY in os.environ as a side effect."""
    from azure.ai.ml import MLClient

    if not isinstance(conn, Connection):
        conn = Connection.load(conn)
    configure_environment(conn)
    common: dict[str, Any] = (
        dict(cloud=conn.cloud_name, cloud_metadata=conn.cloud_metadata, enable_telemetry=False, show_progress=False) | options
    )
    if registry:
        return MLClient(credential(conn), conn.subscription_id, registry_name=registry, **common)
    return MLClient(
        credential(conn),
        conn.subscription_id,
        resource_group or conn.resource_group,
        workspace or conn.workspace_name,
        **common,
    )


def monitor_client(conn: Connection | Path | str | None = None, **options: Any) -> Any:
    """An unmodified `azure.mgmt.monitor.MonitorManagementClient` for the control plane's autoscale settings."""
    from azure.mgmt.monitor import MonitorManagementClient

    if not isinstance(conn, Connection):
        conn = Connection.load(conn)
    configure_environment(conn)
    return MonitorManagementClient(credential(conn), conn.subscription_id, base_url=conn.resource_manager, **options)


class LocalAdmin:
    """The admin routes (`/_local/...`) as methods; all return the route's JSON."""

    def __init__(self, conn: Connection | Path | str | None = None) -> None:
        self.conn = conn if isinstance(conn, Connection) else Connection.load(conn)

    def _call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        q = urlencode({k: v for k, v in query.items() if v is not None})
        return admin_call(self.conn, method, f"/_local/{path}" + (f"?{q}" if q else ""), body)

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def requests(self, kind: str | None = None, log: int = 200) -> dict[str, Any]:
        """Counters since the last reset: {"reads", "writes", "mutations", "totals", "routes", "log"}."""
        return self._call("GET", "requests", kind=kind, log=log)

    def reset_requests(self) -> None:
        self._call("POST", "requests/reset")

    def metrics(
        self, endpoint: str, workspace: str | None = None, since: float | None = None, resource_group: str | None = None
    ) -> dict[str, Any]:
        return self._call(
            "GET",
            "metrics",
            endpoint=endpoint,
            workspace=workspace or self.conn.workspace_name,
            since=since,
            resource_group=resource_group,
        )

    def reset_metrics(self, endpoint: str | None = None, workspace: str | None = None) -> None:
        self._call("POST", "metrics/reset", endpoint=endpoint, workspace=workspace)

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "faults")

    def add_faults(self, **settings: Any) -> dict[str, Any]:
        """e.g. add_faults(arm=[{"status": 429, "rate": 0.5}]), add_faults(fail_next_deployments=1)."""
        return self._call("POST", "faults", settings)

    def clear_faults(self) -> dict[str, Any]:
        return self._call("DELETE", "faults")

    def deployments(self) -> list[dict[str, Any]]:
        return self._call("GET", "deployments")["value"]

    def create_workspace(self, name: str, resource_group: str | None = None) -> dict[str, Any]:
        return self._call("PUT", f"workspaces/{name}", resource_group=resource_group)

    def create_registry(self, name: str, resource_group: str | None = None) -> dict[str, Any]:
        return self._call("PUT", f"registries/{name}", resource_group=resource_group)
