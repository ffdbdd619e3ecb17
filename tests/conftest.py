"""What every test folder shares."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def shell_env() -> dict[str, str]:
    """The environment of a fresh shell, for `amlops` run as a child process.

    An in-process MLClient records its cloud in `os.environ` (AZUREML_CURRENT_CLOUD); a child that
    inherits it fails to find that cloud, which it never registered.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith("AZUREML_")} | {"COLUMNS": "200"}
