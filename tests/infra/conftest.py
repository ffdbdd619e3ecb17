"""Fixtures for the infra tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_support import copy_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")
