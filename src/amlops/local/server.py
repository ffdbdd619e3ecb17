"""The control plane's process: one threaded HTTP server on 127.0.0.1 that speaks TLS (ARM routes,
scoring, admin) and, on the same port, plain-text HTTP CONNECT for the blob proxy: blob hosts
(`<account>.blob.<suffix>`) are tunnelled into this same server, which terminates their TLS with its
own certificate and answers the blob API (the SDK always builds host-style blob URLs that no resolver
knows). Every other host is tunnelled through unchanged, a plain TCP relay as any HTTPS proxy does,
so a shell with `amlops local env` in it still reaches the rest of the world.
Its lifecycle (`start`, a detached process; `stop`, `status`, `admin_call`) lives in `lifecycle`, which
clients import alone, and is re-exported here.

Run in the foreground: `python -m amlops.local.server --state-dir DIR --port N`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import select
import signal
import socket
import ssl
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from amlops.local import tokens
from amlops.local.admin import Admin
from amlops.local.arm import REG, WS, ControlPlane
from amlops.local.blobs import BlobStore, blob_error
from amlops.local.certs import ensure_tls
from amlops.local.connection import MLTABLE_SCHEMA_PATH, STORAGE_SUFFIX, TLS_DIR, Connection, default_state_dir
from amlops.local.environments import EnvCache
from amlops.local.faults import Faults
from amlops.local.lifecycle import PROXY_VARS, admin_call, private_dir, start, status, stop
from amlops.local.metrics import LoggedRequest, RequestLog, ScoringMetrics
from amlops.local.page import PREFIX as PAGE
from amlops.local.page import Page
from amlops.local.router import ScoringRouter
from amlops.local.serving import Supervisor, reap_stale
from amlops.local.store import Store
from amlops.local.web import ArmError, Request, Response, match

MFE_PREFIX = "/mferp/managementfrontend"
#: What answers without a token, as in Azure: the discovery document, and the schema host's MLTable schema.
PUBLIC = {"/discovery", MLTABLE_SCHEMA_PATH}
TOKEN_FILE = "credential"
_RELAY_IDLE_S = 600  # a tunnel idle this long is closed


class App:
    """Dispatches a request to the blob store, the admin routes, the scoring router or the ARM routes,
    and logs each with its server-side time."""

    def __init__(
        self,
        plane: ControlPlane,
        router: ScoringRouter,
        admin: Admin,
        blobs: BlobStore,
        requests: RequestLog,
        faults: Faults,
        token: str,
        page: Page | None = None,
    ) -> None:
        self.plane, self.router, self.admin, self.blobs = plane, router, admin, blobs
        self.requests, self.faults, self.token, self.page = requests, faults, token, page

    def handle(self, req: Request, tunnel_host: str | None) -> Response:
        started = time.perf_counter()
        route, mutating, api_version = req.path, req.method != "GET", req.query.get("api-version")
        if tunnel_host:
            kind = "blob"
            comp = req.query.get("comp") or req.query.get("restype") or "blob"
            route = f"{req.method} {comp}"
            if self.plane.blob_access_allowed(tunnel_host, req.method, req.path, req.query):
                b = self.blobs.handle(tunnel_host, req.method, req.path, req.query, req.headers, req.body)
            else:
                b = blob_error(403, "AuthenticationFailed", "The request carries no valid SAS of this storage account.")
            resp = Response(b.status, b.body, b.headers)
        elif req.path.startswith("/_local/"):
            kind = "admin"
            try:
                self.authenticate(req)
                resp = self.admin.handle(req)
            except ArmError as exc:
                resp = exc.response()
        elif self.page and (req.path == PAGE or req.path.startswith(PAGE + "/")):
            kind, resp = "page", self.page.handle(req)
        elif req.path.startswith("/endpoints/"):
            kind, route, resp = (
                "scoring",
                "/endpoints/{workspace}/{endpoint}/" + req.path.rsplit("/", 1)[-1],
                self.router.handle(req),
            )
        else:
            kind = "arm"
            route, mutating, resp = self._arm(req)
        duration = (time.perf_counter() - started) * 1000
        if kind not in ("admin", "page"):  # the page reads; it is no client call to count
            self.requests.record(
                LoggedRequest(
                    time.time(), kind, req.method, route, req.path, api_version, resp.status, round(duration, 3), mutating
                )
            )
        return resp

    def _arm(self, req: Request) -> tuple[str, bool, Response]:
        path = req.path[len(MFE_PREFIX) :] if req.path.lower().startswith(MFE_PREFIX) else req.path
        label, mutating = path, req.method != "GET"
        try:
            found = match(self.plane.routes, req.method, path)
            if found is None:
                raise ArmError(404, "NoRegisteredProviderFound", f"No route for {req.method} {path}.")
            r, params = found
            label = f"{r.method} {r.template.replace(WS, '{ws}').replace(REG, '{registry}')}"
            mutating = r.mutating
            if path not in PUBLIC:
                self.authenticate(req)
            fault = self.faults.arm_fault(req.method, label)
            if fault:
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.status in (429, 503) else {}
                code = "TooManyRequests" if fault.status == 429 else "InjectedFault"
                raise ArmError(fault.status, code, f"Injected fault on {label}.", headers)
            return label, mutating, r.handler(req, **params)
        except ArmError as exc:
            return label, mutating, exc.response()
        except Exception as exc:  # an answer for the client and a trace for us, never a dropped connection
            traceback.print_exc()
            return label, mutating, ArmError(500, "InternalServerError", f"{type(exc).__name__}: {exc}").response()

    def authenticate(self, req: Request) -> None:
        """ARM's answers when the bearer token is missing or is not the one this control plane issued."""
        auth = req.headers.get("authorization", "")
        if not auth:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not tokens.valid(self.token, token.strip()):
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "amlops-local"
    timeout = 300
    server: LocalServer

    def __init__(self, *args: Any, tunnel_host: str | None = None, **kwargs: Any) -> None:
        self.tunnel_host = tunnel_host
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # the RequestLog records requests instead
        pass

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        if not host.endswith(f".blob.{self.server.storage_suffix}") or port != "443":
            self._relay(host.strip("[]"), port)
            return
        self.send_response(200, "Connection established")
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        try:
            tls = self.server.ssl_context.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            return
        Handler(tls, self.client_address, self.server, tunnel_host=host)

    def _relay(self, host: str, port: str) -> None:
        """Tunnel a host this server does not serve: bytes both ways until either side closes."""
        try:
            upstream = socket.create_connection((host, int(port)), timeout=30)
        except (OSError, ValueError) as exc:
            self.send_error(502, f"Cannot reach {host}:{port}: {exc}")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        upstream.settimeout(None)
        self.connection.settimeout(None)
        peer = {self.connection: upstream, upstream: self.connection}
        try:
            while True:
                readable, _, _ = select.select(list(peer), [], [], _RELAY_IDLE_S)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peer[sock].sendall(data)
        except OSError:
            return
        finally:
            upstream.close()

    def _dispatch(self) -> None:
        body = self._read_body()
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=unquote(parts.path),
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        resp = self.server.app.handle(req, self.tunnel_host)
        self.send_response(resp.status)
        headers = {"x-ms-request-id": os.urandom(8).hex(), **resp.headers}
        for name, value in headers.items():
            if name.lower() != "content-length" or self.command == "HEAD":
                self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(resp.body)))
        elif "Content-Length" not in headers:
            self.send_header("Content-Length", "0")
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = _dispatch


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port: int, ssl_context: ssl.SSLContext, storage_suffix: str) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.ssl_context = ssl_context
        self.storage_suffix = storage_suffix
        self.port = self.server_address[1]
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.app: App

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS or plain text on one port: a TLS ClientHello starts with byte 0x16 (the proxy's CONNECT
        is plain text). Runs on the request's own thread, so a slow client blocks nobody."""
        request.settimeout(30)
        try:
            first = request.recv(1, socket.MSG_PEEK)
            if first == b"\x16":
                request = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        request.settimeout(None)
        Handler(request, client_address, self)


def serve(state_dir: Path, port: int, provisioning_delay: float = 0.0) -> None:
    """Run the control plane in this process until SIGTERM/SIGINT; stops every serving process on exit."""
    for var in PROXY_VARS:  # `eval $(amlops local env)` before `up` must not make us proxy ourselves
        os.environ.pop(var, None)
    os.umask(0o077)  # everything the control plane writes (state.db with keys, blobs, logs) is its user's alone
    private_dir(state_dir)
    reap_stale(state_dir)
    tls = ensure_tls(state_dir / TLS_DIR, STORAGE_SUFFIX)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tls.server_pem)
    httpd = LocalServer(port, ctx, STORAGE_SUFFIX)
    store = Store(state_dir / "state.db")
    blobs = BlobStore(state_dir / "blobs", STORAGE_SUFFIX)
    supervisor = Supervisor(state_dir, EnvCache())
    faults, requests, metrics = Faults(), RequestLog(), ScoringMetrics()
    plane = ControlPlane(store, blobs, supervisor, faults, httpd.base_url, provisioning_delay)
    token = issued_token(state_dir)
    router = ScoringRouter(plane, metrics, faults, token)
    restoring: list[threading.Thread] = []

    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "pid": os.getpid(),
            "port": httpd.port,
            "state_dir": str(state_dir),
            "restoring": sum(t.is_alive() for t in restoring),
            "provisioning_delay_s": provisioning_delay,
        }

    admin = Admin(plane, requests, metrics, faults, health)
    httpd.app = App(plane, router, admin, blobs, requests, faults, token, Page(plane, state_dir))

    def on_signal(signum: int, frame: Any) -> None:
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        restoring.extend(plane.resume())
        Connection.for_server(state_dir, httpd.port, tls.ca_bundle, token).save()
        print(f"amlops local control plane on {httpd.base_url} (pid {os.getpid()})", flush=True)
        httpd.serve_forever(poll_interval=0.2)
    finally:
        plane.stop_jobs()
        supervisor.stop_all()
        httpd.server_close()
        store.close()
        print("amlops local control plane stopped", flush=True)


def issued_token(state_dir: Path) -> str:
    """The bearer token this control plane accepts: made once, kept in a 0600 file, so clients that hold
    it keep working across restarts."""
    path = state_dir / TOKEN_FILE
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(secrets.token_urlsafe(32))
    except FileExistsError:
        os.chmod(path, 0o600)
    return path.read_text().strip()


__all__ = ["admin_call", "main", "serve", "start", "status", "stop"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the amlops local Azure ML control plane (foreground).")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir())
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--provisioning-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    serve(args.state_dir.expanduser().resolve(), args.port, args.provisioning_delay)


if __name__ == "__main__":
    main()
