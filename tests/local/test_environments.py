"""Environments are built by uv from the package indexes pip is configured with on this machine."""

from __future__ import annotations

import sys

from amlops.local.environments import pip_settings, requirements_from_conda, uv_options


def test_pip_settings_are_what_pip_config_list_says(monkeypatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "file:///srv/mirror/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "file:///srv/a/simple file:///srv/b/simple")
    settings = pip_settings.__wrapped__(sys.executable)  # uncached: this test's variables
    assert settings["index-url"] == "file:///srv/mirror/simple"
    assert settings["extra-index-url"] == "file:///srv/a/simple file:///srv/b/simple"


def test_pip_index_settings_become_uv_options() -> None:
    args, env = uv_options(
        {
            "index-url": "https://mirror.example/simple",
            "extra-index-url": "file:///opt/a/simple file:///opt/b/simple",
            "find-links": "/opt/wheels",
            "constraint": "/etc/pip/constraints.txt",
            "trusted-host": "mirror.example",
            "cert": "/etc/ssl/certs/corp.pem",
            "default-timeout": "180",
        }
    )
    assert args == [
        "--index-url", "https://mirror.example/simple",
        "--extra-index-url", "file:///opt/a/simple",
        "--extra-index-url", "file:///opt/b/simple",
        "--find-links", "/opt/wheels",
        "--constraint", "/etc/pip/constraints.txt",
        "--allow-insecure-host", "mirror.example",
        "--index-strategy", "unsafe-best-match",
    ]  # fmt: skip
    assert env == {"SSL_CERT_FILE": "/etc/ssl/certs/corp.pem", "UV_HTTP_TIMEOUT": "180"}


def test_without_a_pip_cert_uv_trusts_the_requests_bundle(monkeypatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/state/tls/ca-bundle.pem")  # the control plane's (system CAs + its own)
    assert uv_options({}) == ([], {"SSL_CERT_FILE": "/state/tls/ca-bundle.pem"})


def test_only_pip_dependencies_of_a_conda_file_are_installed() -> None:
    pip, dropped = requirements_from_conda(
        "dependencies:\n  - python=3.11\n  - pip\n  - numpy\n  - pip:\n    - requests==2.32.3\n"
    )
    assert (pip, dropped) == (["requests==2.32.3"], ["python=3.11", "numpy"])
