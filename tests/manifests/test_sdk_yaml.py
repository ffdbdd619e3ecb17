"""azure-ai-ml reads the files it loads with libyaml (sdk_yaml), which builds what its pure-Python parser builds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from amlops.manifests import validate_repository

SAMPLE = Path(__file__).resolve().parents[2]


def test_the_sdk_reads_every_file_it_loads_with_libyaml(monkeypatch) -> None:
    read: list[object] = []

    class Counted(yaml.CSafeLoader):
        def __init__(self, stream: object) -> None:
            read.append(stream)
            super().__init__(stream)

    monkeypatch.setattr(yaml, "CSafeLoader", Counted)
    monkeypatch.setattr(yaml, "safe_load", lambda stream: pytest.fail(f"read with the pure-Python parser: {stream}"))
    repo, problems = validate_repository(SAMPLE)
    assert problems == [] and repo.endpoints
    assert len(read) >= len(repo.models) + len(repo.endpoints) + sum(len(e.deployments) for e in repo.endpoints.values())


def test_libyaml_builds_what_the_pure_python_parser_builds() -> None:
    files = [p for p in SAMPLE.glob("**/*.y*ml") if ".venv" not in p.parts and ".git" not in p.parts]
    assert len(files) > 20
    for path in files:
        text = path.read_text()
        assert yaml.load(text, Loader=yaml.CSafeLoader) == yaml.safe_load(text), path
