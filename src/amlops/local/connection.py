"""`connection.json`: everything a client needs to talk to a running local control plane with the
unmodified azure-ai-ml SDK, its credential included. The server writes it, readable by its user only
(mode 0600 in a 0700 state dir); clients only read it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

CONNECTION_FILE = "connection.json"
STORAGE_SUFFIX = "core.amlops.localhost"
DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "amlops-local"
DEFAULT_WORKSPACE = "local"
DEFAULT_REGISTRY = "local-registry"
#: Where in the state dir the plane keeps its CA and certificates (certs.ensure_tls), and the CA's own file.
TLS_DIR = "tls"
LOCAL_CA = "ca.pem"
LOCATION = "local"
#: Where the plane serves the MLTable schema, as Azure's schema host serves its own (no credential needed, as there).
MLTABLE_SCHEMA_PATH = "/schemas/latest/MLTable.schema.json"


def default_state_dir() -> Path:
    """`$AMLOPS_LOCAL_STATE_DIR`, else the XDG state dir."""
    env = os.environ.get("AMLOPS_LOCAL_STATE_DIR")
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "amlops" / "local"


def cloud_metadata(port: int) -> dict[str, str]:
    """The dict `MLClient(cloud_metadata=...)` takes: every endpoint is this server."""
    base = f"https://127.0.0.1:{port}/"
    return {
        "azure_portal": base,
        "resource_manager": base,
        "active_directory": base,
        "aml_resource_id": base,
        "storage_endpoint": STORAGE_SUFFIX,
        "registry_discovery_endpoint": base,
    }


@dataclass(frozen=True)
class Connection:
    state_dir: str
    port: int
    pid: int
    resource_manager: str
    ca_bundle: str
    proxy: str | None
    cloud_name: str
    cloud_metadata: dict[str, str]
    subscription_id: str = DEFAULT_SUBSCRIPTION
    resource_group: str = DEFAULT_RESOURCE_GROUP
    workspace_name: str = DEFAULT_WORKSPACE
    registry_name: str = DEFAULT_REGISTRY
    no_proxy: str = "127.0.0.1"
    storage_suffix: str = STORAGE_SUFFIX
    token: str = ""  # the bearer token the control plane issued: its ARM, admin and AAD-token scoring routes want it

    @classmethod
    def for_server(cls, state_dir: Path, port: int, ca_bundle: Path, token: str) -> Connection:
        return cls(
            state_dir=str(state_dir),
            port=port,
            pid=os.getpid(),
            resource_manager=f"https://127.0.0.1:{port}/",
            ca_bundle=str(ca_bundle),
            proxy=f"http://127.0.0.1:{port}",
            cloud_name=f"AmlopsLocal{port}",
            cloud_metadata=cloud_metadata(port),
            token=token,
        )

    @classmethod
    def load(cls, state_dir: Path | str | None = None) -> Connection:
        """Read `<state_dir>/connection.json` (FileNotFoundError if the server never ran there)."""
        path = Path(state_dir or default_state_dir()) / CONNECTION_FILE
        return cls(**json.loads(path.read_text()))

    @property
    def ca_cert(self) -> Path:
        """The local CA alone, the only authority for the plane's own address (the bundle adds the system's and certifi's)."""
        return Path(self.state_dir) / TLS_DIR / LOCAL_CA

    def save(self) -> None:
        path = Path(self.state_dir) / CONNECTION_FILE
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)

    def env(self) -> dict[str, str]:
        """Environment variables a client process needs (the CA bundle and the blob proxy)."""
        env = {
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
            "CURL_CA_BUNDLE": self.ca_bundle,
            "NO_PROXY": self.no_proxy,
            "no_proxy": self.no_proxy,
            "AMLOPS_LOCAL_STATE_DIR": self.state_dir,
        }
        if self.proxy:
            env.update(HTTPS_PROXY=self.proxy, https_proxy=self.proxy)
        return env
