"""The local certificate authority: azure-core sends bearer tokens only over TLS, so the control plane
serves HTTPS with a CA minted here once per state dir and trusted by clients via REQUESTS_CA_BUNDLE.

The bundle clients point REQUESTS_CA_BUNDLE at must still trust everything else they reach: pip in a
served model's environment build, a corporate proxy's CA. So it holds the system's CAs (where an
organisation installs its own), certifi's, and the local CA.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi
import trustme

from amlops.local.connection import LOCAL_CA


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path  # the local CA alone
    server_pem: Path  # server key + certificate chain, for ssl.SSLContext.load_cert_chain
    ca_bundle: Path  # the system's and certifi's CAs plus the local CA: what REQUESTS_CA_BUNDLE points to


def ensure_tls(tls_dir: Path, storage_suffix: str) -> TlsFiles:
    """Create the CA and server certificate on first use; later calls reuse them so clients that cached
    the bundle keep working across restarts."""
    tls_dir.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(tls_dir / LOCAL_CA, tls_dir / "server.pem", tls_dir / "ca-bundle.pem")
    if not (files.ca_cert.exists() and files.server_pem.exists()):
        ca = trustme.CA(organization_name="amlops local control plane")
        cert = ca.issue_cert("127.0.0.1", "localhost", f"*.blob.{storage_suffix}")
        _write_atomic(files.server_pem, cert.private_key_and_cert_chain_pem.bytes())
        _write_atomic(files.ca_cert, ca.cert_pem.bytes())
    bundle = b"".join(pem.read_bytes().rstrip(b"\n") + b"\n" for pem in (*_trusted(), files.ca_cert))
    if not files.ca_bundle.exists() or files.ca_bundle.read_bytes() != bundle:
        _write_atomic(files.ca_bundle, bundle)
    return files


def _trusted() -> list[Path]:
    """The CA files this machine trusts: the system store (if any), then certifi's."""
    system = ssl.get_default_verify_paths().cafile
    found = [Path(system)] if system and Path(system).is_file() else []
    return found + [Path(certifi.where())]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
