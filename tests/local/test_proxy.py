"""`eval "$(amlops local env)"` leaves the rest of the shell working: the control plane's CONNECT proxy
tunnels hosts it does not serve through unchanged (here a second HTTPS server on 127.0.0.1)."""

from __future__ import annotations

import http.client
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

pytestmark = pytest.mark.slow


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from elsewhere {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """Another HTTPS server, with its own CA, that the control plane knows nothing of: (port, CA file)."""
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("elsewhere") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], ca_file
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_other_hosts_are_tunnelled_through_unchanged(local, elsewhere) -> None:
    port, ca_file = elsewhere
    client = http.client.HTTPSConnection("127.0.0.1", local.conn.port, context=ssl.create_default_context(cafile=ca_file))
    client.set_tunnel("localhost", port)
    try:
        client.request("GET", "/direct")
        answer = client.getresponse()
        assert answer.status == 200 and answer.read() == b"hello from elsewhere /direct"
    finally:
        client.close()


def test_a_shell_with_the_local_env_still_reaches_other_https_hosts(local, elsewhere) -> None:
    """What `eval "$(amlops local env)"` exports (HTTPS_PROXY, NO_PROXY, ...), in a fresh process."""
    port, ca_file = elsewhere
    script = f"import requests; print(requests.get('https://localhost:{port}/shell', verify={str(ca_file)!r}, timeout=30).text)"
    env = {"PATH": "/usr/bin:/bin", **local.conn.env()}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "hello from elsewhere /shell"


def test_unreachable_hosts_get_a_502(local) -> None:
    client = http.client.HTTPConnection("127.0.0.1", local.conn.port, timeout=10)
    try:
        client.request("CONNECT", "127.0.0.1:1")
        assert client.getresponse().status == 502
    finally:
        client.close()
