"""The files a candidate branch holds, as text: the model file, its metrics record, and environment bumps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from amlops.manifests.references import parse_model_ref
from amlops.manifests.yamlio import dump, round_trip
from amlops.release.bundle import CONTENT_HASH_TAG

MODEL_SCHEMA = "https://azuremlschemas.azureedge.net/latest/model.schema.json"


@dataclass(frozen=True)
class Lineage:
    """Where a candidate's bytes come from: the run, the job file, the data it read, the commit it was submitted from."""

    run: str
    environment: str
    job: str
    data: tuple[str, ...]  # data asset versions, `name:version`
    commit: str

    def tags(self) -> dict[str, str]:
        return {
            "amlops.run": self.run,
            "amlops.trained_in": self.environment,
            "amlops.job": self.job,
            "amlops.data": ",".join(self.data),
            "amlops.commit": self.commit,
        }


def model_path(model: str, version: str) -> str:
    return f"models/{model}/v{version}.yml"


def metrics_path(model: str, version: str) -> str:
    return f"models/{model}/v{version}.metrics.json"


def model_file(model: str, version: str, kind: str, uri: str, content_hash: str, lineage: Lineage) -> str:
    """A CLI v2 model file for the version registered from the run's output: `path` is Azure's job path,
    so `az ml model create -f` registers the same bytes, and nothing here is uploaded; the content hash
    is the one releases pin and plan checks against the registered asset's tag."""
    data = lineage.data and f", from {', '.join(lineage.data)}"
    lines = [
        f"$schema: {MODEL_SCHEMA}",
        f"name: {model}",
        f'version: "{version}"',
        f"type: {kind}",
        f"path: {uri}",
        f"description: Retrained by run {lineage.run} of {lineage.job} in {lineage.environment}{data}.",
        "tags:",
        f"  {CONTENT_HASH_TAG}: {content_hash}",
        *(f'  {key}: "{value}"' for key, value in lineage.tags().items()),
    ]
    return "\n".join(lines) + "\n"


def metrics_record(model: str, version: str, content_hash: str, lineage: Lineage, metrics: dict[str, Any]) -> str:
    """What the run measured (each metrics.json in the model output), for the pull request and later gates."""
    record = {"model": f"{model}:{version}", "content_hash": content_hash, **lineage.tags(), "metrics": metrics}
    return json.dumps(record, indent=2, sort_keys=False) + "\n"


def bump_environment(text: str, model: str, reference: str) -> tuple[str, list[str]]:
    """`text` (an environment file) with every deployment serving a version of `model` serving `reference`;
    the rest of the file stays byte for byte. Returns the text and the `endpoint/deployment`s bumped."""
    yaml = round_trip(text)
    data = yaml.load(text)
    bumped = []
    for endpoint, choice in (data.get("endpoints") or {}).items():
        for deployment, chosen in ((choice or {}).get("deployments") or {}).items():
            ref = parse_model_ref(str(chosen.get("model") or ""))
            if ref is not None and ref.name == model:
                chosen["model"] = reference
                bumped.append(f"{endpoint}/{deployment}")
    return (dump(yaml, data) if bumped else text), bumped


def flat_metrics(metrics: dict[str, Any]) -> list[tuple[str, Any]]:
    """Scalar figures of the metrics record as (name, value), for a commit message or a comment."""
    rows: list[tuple[str, Any]] = []
    for source, values in sorted(metrics.items()):
        items = values.items() if isinstance(values, dict) else [("", values)]
        for key, value in items:
            if isinstance(value, (int, float, str, bool)):
                rows.append((f"{source}: {key}" if key else source, value))
    return rows
