"""GitHubOidcCredential against stand-ins for GitHub's OIDC endpoint and Entra ID's token endpoint.

One HTTPS server on 127.0.0.1 (a local CA from trustme) plays both. The point under test: when the
Azure token runs out, the credential fetches a *new* GitHub token for the exchange, never the first.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme

from amlops.workspace.auth import AUDIENCE, GitHubOidcCredential, GitHubOidcError, azure_credential

TENANT, CLIENT, REQUEST_TOKEN = "00000000-0000-0000-0000-0000000000aa", "11111111-2222-3333-4444-555555555555", "runner-secret"


class Stub(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.github_calls: list[dict[str, list[str]]] = []
        self.exchanges: list[dict[str, list[str]]] = []
        self.expires_in = 3600


class Handler(BaseHTTPRequestHandler):
    server: Stub

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # GitHub: ACTIONS_ID_TOKEN_REQUEST_URL
        query = parse_qs(urlsplit(self.path).query)
        if self.headers["Authorization"] != f"Bearer {REQUEST_TOKEN}":
            return self._json(401, {"message": "bad request token"})
        self.server.github_calls.append(query)
        self._json(200, {"value": f"github-jwt-{len(self.server.github_calls)}"})

    def do_POST(self) -> None:  # Entra ID: /<tenant>/oauth2/v2.0/token
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        assert self.path.startswith(f"/{TENANT}/oauth2/v2.0/token")
        self.server.exchanges.append(form)
        self._json(
            200,
            {"access_token": f"azure-{len(self.server.exchanges)}", "expires_in": self.server.expires_in, "token_type": "Bearer"},
        )

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def stub(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stub]:
    ca = trustme.CA()
    server = Stub()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def credential(stub: Stub, token: str = REQUEST_TOKEN) -> GitHubOidcCredential:
    base = f"https://127.0.0.1:{stub.server_address[1]}"
    return GitHubOidcCredential(TENANT, CLIENT, f"{base}/_apis/token?api-version=2.0", token, authority=base)


def test_exchanges_a_github_token_with_the_azure_audience(stub: Stub) -> None:
    token = credential(stub).get_token("https://management.azure.com/.default")
    assert token.token == "azure-1"
    (call,) = stub.github_calls
    assert call == {"api-version": ["2.0"], "audience": [AUDIENCE]}
    (exchange,) = stub.exchanges
    assert exchange["client_assertion"] == ["github-jwt-1"] and exchange["client_id"] == [CLIENT]
    assert exchange["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]


def test_a_valid_azure_token_is_reused(stub: Stub) -> None:
    c = credential(stub)
    first, second = c.get_token("https://ml.azure.com/.default"), c.get_token("https://ml.azure.com/.default")
    assert first.token == second.token and len(stub.github_calls) == 1


def test_an_expired_azure_token_is_renewed_with_a_fresh_github_token(stub: Stub) -> None:
    stub.expires_in = 1  # as if the rollout had run past the token's hour
    c = credential(stub)
    assert c.get_token("https://ml.azure.com/.default").token == "azure-1"
    time.sleep(1.5)
    assert c.get_token("https://ml.azure.com/.default").token == "azure-2"
    assert [e["client_assertion"] for e in stub.exchanges] == [["github-jwt-1"], ["github-jwt-2"]]


def test_no_id_token_permission_is_a_clear_error(stub: Stub) -> None:
    with pytest.raises(GitHubOidcError, match="does the job have id-token: write"):
        credential(stub, token="wrong").get_token("https://ml.azure.com/.default")
    assert stub.exchanges == []


def test_chosen_only_inside_an_oidc_capable_job(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT)
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    assert GitHubOidcCredential.from_environment() is None
    assert not isinstance(azure_credential(), GitHubOidcCredential)
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "https://token.actions.example/x?api-version=2.0")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN)
    assert isinstance(azure_credential(), GitHubOidcCredential)
