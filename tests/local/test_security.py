"""Who gets in: the control plane's issued credential guards its ARM, admin and fault routes, a SAS it
handed out guards its blob store, its state is private to its user, models answer only through the
scoring router, and a failure report shows only the current deployment's own log lines."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import requests
from azure.ai.ml.entities import ManagedOnlineEndpoint, Model
from azure.core.exceptions import HttpResponseError

from amlops.local.client import StaticTokenCredential

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ml(local):
    return local.client()


def _ws(local) -> str:
    c = local.conn
    return (
        f"{c.resource_manager}subscriptions/{c.subscription_id}/resourceGroups/{c.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{c.workspace_name}"
    )


def _call(local, method: str, url: str, token: str | None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.request(
        method, url, headers=headers, params={"api-version": "2025-12-01"}, verify=local.conn.ca_bundle, timeout=30, **kwargs
    )


def test_arm_routes_want_the_issued_token(local, ml) -> None:
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="guarded")).result()
    keys = f"{_ws(local)}/onlineEndpoints/guarded/listKeys"
    missing = _call(local, "POST", keys, None)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "AuthenticationFailed"
    forged = _call(local, "POST", keys, "any-token-at-all")
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "primaryKey" not in forged.text
    assert _call(local, "POST", keys, local.conn.token).json()["primaryKey"]

    from azure.ai.ml import MLClient

    c = local.conn
    stranger = MLClient(
        StaticTokenCredential("not-the-issued-one"),
        c.subscription_id,
        c.resource_group,
        c.workspace_name,
        cloud=c.cloud_name,
        cloud_metadata=c.cloud_metadata,
        enable_telemetry=False,
    )
    with pytest.raises(HttpResponseError) as err:
        stranger.online_endpoints.get_keys("guarded")
    assert err.value.status_code == 401
    ml.online_endpoints.begin_delete("guarded").result()


@pytest.mark.parametrize(
    ("method", "route", "body"),
    [
        ("GET", "health", None),
        ("GET", "requests", None),
        ("GET", "metrics?endpoint=x", None),
        ("POST", "faults", {"fail_next_deployments": 5}),
        ("DELETE", "faults", None),
        ("PUT", "workspaces/intruder", None),
    ],
)
def test_admin_and_fault_routes_want_the_issued_token(local, method: str, route: str, body) -> None:
    url = f"{local.conn.resource_manager}_local/{route}"
    for token in (None, "guess"):
        assert _call(local, method, url, token, json=body).status_code == 401
    assert local.admin.faults()["fail_next_deployments"] == 0
    assert _call(local, "GET", f"{local.conn.resource_manager}_local/health", local.conn.token).status_code == 200


def _datastore(local) -> tuple[str, str, str]:
    """(blob URL of the workspace's default container, SAS from listSecrets, account)."""
    base = f"{_ws(local)}/datastores/workspaceblobstore"
    props = _call(local, "GET", base, local.conn.token).json()["properties"]
    secrets = _call(local, "POST", base + "/listSecrets", local.conn.token, json={"expirableSecret": True}).json()
    assert secrets["secretsType"] == "Sas"
    url = f"https://{props['accountName']}.blob.{local.conn.storage_suffix}/{props['containerName']}"
    return url, secrets["sasToken"], props["accountName"]


def _blob(local, method: str, url: str, data: bytes | None = None) -> requests.Response:
    headers = {"x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-08-06"}
    return requests.request(
        method,
        url,
        data=data,
        headers=headers,
        proxies={"https": local.conn.proxy},
        verify=local.conn.ca_bundle,
        timeout=30,
    )


def test_blob_routes_want_a_sas_the_plane_handed_out(local, ml) -> None:
    ml.models.create_or_update(Model(name="guarded-bytes", path=str(local.model_dir(factor=4)), type="custom_model"))
    container_url, sas, _ = _datastore(local)
    uri = _call(local, "GET", f"{_ws(local)}/models/guarded-bytes/versions/1", local.conn.token).json()["properties"]["modelUri"]
    folder = uri.split("/paths/", 1)[1].rstrip("/")
    target = f"{container_url}/{folder}/weights.json"  # the model's bytes, as served
    before = _blob(local, "GET", f"{target}?{sas}")
    assert before.status_code == 200 and json.loads(before.content) == {"factor": 4}
    for query in ("", "?sv=2021-08-06&sr=c&sp=racwdl&se=2099-01-01T00:00:00Z&sig=forged"):
        assert _blob(local, "PUT", target + query, b'{"factor": 666}').status_code == 403
        assert _blob(local, "GET", target + query).status_code == 403
    other = container_url.rsplit("/", 1)[0] + "/some-other-container/x"
    assert _blob(local, "PUT", f"{other}?{sas}", b"x").status_code == 403  # a SAS is for its own container
    assert _blob(local, "GET", f"{target}?{sas}").content == before.content
    put = _blob(local, "PUT", f"{container_url}/probe/ok.txt?{sas}", b"ok")
    assert put.status_code == 201 and _blob(local, "GET", f"{container_url}/probe/ok.txt?{sas}").content == b"ok"


def test_state_is_private_to_its_user(local, ml) -> None:
    state = local.state_dir
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("state.db", "connection.json", "credential", "server.log", "tls/server.pem"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
    exposed = [
        str(p.relative_to(state))
        for p in state.rglob("*")
        if not p.is_symlink() and stat.S_IMODE(p.stat().st_mode) & 0o077 and not p.is_socket()
    ]
    assert exposed == []
    assert json.loads((state / "connection.json").read_text())["token"] == (state / "credential").read_text()


def _tcp_listeners() -> set[int]:
    """Socket inodes of every listening TCP socket on the machine."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                inodes.add(int(fields[9]))
    return inodes


def _socket_inodes(pid: int) -> set[int]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def test_model_servers_answer_only_through_the_scoring_router(local, ml) -> None:
    ml.models.create_or_update(Model(name="hidden", path=str(local.model_dir(factor=6)), type="custom_model"))
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="hidden")).result()
    ml.online_deployments.begin_create_or_update(local.deployment("hidden", "main", "azureml:hidden:1")).result()
    serving = local.serving_processes()
    assert serving
    listeners = _tcp_listeners()
    assert all(not (_socket_inodes(pid) & listeners) for pid in serving), "a model server listens on a TCP port"
    [entry] = [d for d in local.admin.deployments() if d["id"].lower().endswith("/hidden/deployments/main")]
    sock = Path(entry["socket"])
    assert sock.is_socket() and stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    answer = ml.online_endpoints.invoke("hidden", request_file=str(local.request_file({"data": [1]})), deployment_name="main")
    assert json.loads(answer) == {"y": [6], "who": "main"}
    ml.online_endpoints.begin_delete("hidden").result()


def test_aad_token_endpoints_want_the_issued_token(local, ml) -> None:
    ml.models.create_or_update(Model(name="entra", path=str(local.model_dir(factor=2)), type="custom_model"))
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="entra", auth_mode="aad_token")).result()
    ml.online_deployments.begin_create_or_update(local.deployment("entra", "main", "azureml:entra:1")).result()
    answer = ml.online_endpoints.invoke("entra", request_file=str(local.request_file({"data": [2]})), deployment_name="main")
    assert json.loads(answer)["y"] == [4]
    uri = ml.online_endpoints.get("entra").scoring_uri
    for token in ("anything", local.conn.token + "x"):
        resp = requests.post(
            uri, json={"data": [1]}, headers={"Authorization": f"Bearer {token}"}, verify=local.conn.ca_bundle, timeout=30
        )
        assert resp.status_code == 401
    ml.online_endpoints.begin_delete("entra").result()


def test_failure_reports_show_only_the_current_deployments_logs(local, ml) -> None:
    ml.models.create_or_update(Model(name="relived", path=str(local.model_dir(factor=3)), type="custom_model"))
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="relived")).result()
    local.admin.add_faults(fail_next_deployments=1, fail_message="Injected: the first life failed")
    with pytest.raises(HttpResponseError):
        ml.online_deployments.begin_create_or_update(local.deployment("relived", "main", "azureml:relived:1")).result()
    assert "the first life failed" in ml.online_deployments.get_logs("main", "relived", lines=200)
    ml.online_deployments.begin_delete("main", "relived").result()
    local.admin.add_faults(fail_next_deployments=1, fail_message="Injected: the second life failed")
    with pytest.raises(HttpResponseError):
        ml.online_deployments.begin_create_or_update(local.deployment("relived", "main", "azureml:relived:1")).result()
    logs = ml.online_deployments.get_logs("main", "relived", lines=200)
    assert "the second life failed" in logs and "the first life failed" not in logs
    ml.online_endpoints.begin_delete("relived").result()
