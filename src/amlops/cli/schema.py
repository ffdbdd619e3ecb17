"""`amlops schema`: the JSON Schema of environment files, for editors."""

from __future__ import annotations

import json
from pathlib import Path

import typer

SCHEMA_FILE = Path("environments/environment.schema.json")


def environment_schema() -> str:
    """The schema as committed beside the environment files (editors read it from there)."""
    from amlops.manifests.environment import Environment  # here: `amlops --help` starts without pydantic

    schema = Environment.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "amlops environment"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help=f"write it here (e.g. {SCHEMA_FILE})"),
) -> None:
    """Print the JSON Schema of `environments/<name>.yaml`, or write it with --output."""
    text = environment_schema()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
