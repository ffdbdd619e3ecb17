"""The CA bundle clients trust for the local control plane still trusts what the machine trusts."""

import ssl
from pathlib import Path

import certifi

from amlops.local.certs import ensure_tls


def test_bundle_holds_system_certifi_and_local_cas(tmp_path: Path):
    files = ensure_tls(tmp_path, "core.emulator.localhost")
    bundle = files.ca_bundle.read_bytes()
    system = ssl.get_default_verify_paths().cafile
    assert system and Path(system).is_file(), "this machine has a system CA file"
    # pip in a served model's environment build goes through REQUESTS_CA_BUNDLE: a proxy's or an
    # organisation's CA lives in the system store, not in certifi's
    assert Path(system).read_bytes().strip() in bundle
    assert Path(certifi.where()).read_bytes().strip() in bundle
    assert files.ca_cert.read_bytes().strip() in bundle
    assert ensure_tls(tmp_path, "core.emulator.localhost").ca_bundle.read_bytes() == bundle  # stable across restarts
