"""One HTTP session for every call amlops makes to Azure ML: the SDK's, scoring requests and metrics.

With a CA bundle given as a path (`REQUESTS_CA_BUNDLE`: corporate proxies, and always for the local
control plane, whose bundle holds the system's CAs, certifi's and its own), requests and urllib3
parse the whole bundle again for every new connection: 70 to 130 ms of CPU each on these machines,
more than the call itself, and a concurrent plan opens one connection per reader. Here the bundle is
parsed once per path into an `ssl.SSLContext` that verifies exactly as before (the same CAs,
certificates required, host names checked), and connections are pooled for as many threads as read
at once. Everything else about requests (proxies, `NO_PROXY`, the environment's bundle) is unchanged.
"""

from __future__ import annotations

import ssl
import threading
from functools import cache
from typing import Any

import requests
from requests.adapters import HTTPAdapter

#: Connections kept per host: the most threads that call at once (observe's readers, rollouts, load).
POOL = 32


class _ParsedOnce(HTTPAdapter):
    """An adapter whose pools verify with a context that parsed the CA bundle once, not once per connection."""

    def __init__(self) -> None:
        super().__init__(pool_connections=POOL, pool_maxsize=POOL)
        self._lock = threading.Lock()
        self._contexts: dict[str, ssl.SSLContext] = {}

    def _context(self, bundle: str) -> ssl.SSLContext:
        with self._lock:
            if bundle not in self._contexts:
                self._contexts[bundle] = ssl.create_default_context(cafile=bundle)
            return self._contexts[bundle]

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        bundle = pool.pop("ca_certs", None)
        if bundle:
            pool["ssl_context"] = self._context(bundle)
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        if conn.conn_kw.get("ssl_context") is not None and conn.ca_certs:
            conn.ca_certs = None  # the pool's context holds exactly these CAs: do not parse them again


@cache
def session() -> requests.Session:
    """The process's session (requests' sessions are safe to share between threads for plain calls)."""
    shared = requests.Session()
    shared.mount("https://", _ParsedOnce())
    return shared


def transport(verify: str | None = None) -> Any:
    """azure-core's requests transport over :func:`session`, for an `MLClient`'s `transport=`; `verify`, a CA
    file its calls trust instead of the environment's (`REQUESTS_CA_BUNDLE`, else certifi's)."""
    from azure.core.pipeline.transport import RequestsTransport

    if verify is None:
        return RequestsTransport(session=session(), session_owner=False)
    return RequestsTransport(session=session(), session_owner=False, connection_verify=verify)
