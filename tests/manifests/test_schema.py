"""The JSON Schema editors read stays in step with the pydantic model that amlops validates with."""

from pathlib import Path

from amlops.cli.schema import SCHEMA_FILE, environment_schema

REPO = Path(__file__).resolve().parents[2]


def test_committed_schema_is_current():
    committed = (REPO / SCHEMA_FILE).read_text()
    assert committed == environment_schema(), f"run: amlops schema --output {SCHEMA_FILE}"


def test_environment_files_point_editors_at_it():
    for path in (REPO / "environments").glob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=environment.schema.json"), path
