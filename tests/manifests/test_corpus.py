"""Real users' files: every Azure ML CLI v2 file in the azureml-examples corpus loads, or is refused
with a clear, positioned reason. The corpus sits beside the repository, in `../shared/corpus`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from amlops.manifests.load import LOADERS, _kind, load_cli_file
from amlops.manifests.yamlio import read_yaml

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("AMLOPS_CORPUS", REPO.parent / "shared" / "corpus" / "azureml-examples"))
#: Files that are templates (`{{...}}` placeholders filled by a script), not YAML: refused by design.
TEMPLATES = {
    "endpoints/online/managed/minimal/single-model-registered/deployment.yml",
    "endpoints/online/managed/minimal/single-model-registered/model.yml",
}


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():  # a missing corpus is a failure, never a skip: these tests are the proof
        pytest.fail(f"no corpus at {CORPUS}: CI clones shared/ beside the repository; elsewhere set AMLOPS_CORPUS")
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yml", ".yaml"))


def kind_of(path: Path) -> str | None:
    document, _ = read_yaml(path, path.name)
    return _kind(document.data) if document is not None and isinstance(document.data, dict) else "template"


def sibling_endpoint(path: Path) -> str:
    """The endpoint a deployment file belongs to, as the CLI's --endpoint-name would give it."""
    for candidate in sorted(path.parent.glob("*.y*ml")):
        document, _ = read_yaml(candidate, candidate.name)
        if document is not None and isinstance(document.data, dict) and _kind(document.data) == "managedOnlineEndpoint":
            return str(document.data["name"])
    return "corpus-endpoint"


def test_every_azure_ml_file_in_the_corpus_loads():
    files = [p for p in corpus_files() if kind_of(p) in set(LOADERS) | {"template"}]
    assert len(files) >= 62, (
        f"expected the corpus's 62 endpoint, deployment, model, compute and serverless files, found {len(files)}"
    )
    rejected, loaded = {}, 0
    for path in files:
        relative = path.relative_to(CORPUS).as_posix()
        entity, problems = load_cli_file(path, CORPUS, endpoint_name=sibling_endpoint(path))
        if relative in TEMPLATES:
            assert entity is None and any("template placeholder" in p.message for p in problems), relative
            continue
        if entity is None:
            rejected[relative] = "; ".join(str(p) for p in problems)
        else:
            loaded += 1
    assert not rejected, "corpus files rejected:\n" + "\n".join(f"{f}: {why}" for f, why in rejected.items())
    assert loaded == len(files) - len(TEMPLATES)


def test_templates_are_refused_with_position_not_traceback():
    path = CORPUS / "endpoints/online/managed/minimal/single-model-registered/deployment.yml"
    if not path.exists():
        corpus_files()
    entity, problems = load_cli_file(path, CORPUS)
    assert entity is None
    assert problems and problems[0].line > 1 and "{{" in problems[0].message
