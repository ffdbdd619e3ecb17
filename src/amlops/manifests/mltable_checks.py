"""The `MLTable` file of each mltable data asset, checked against what Microsoft documents an MLTable to hold.

azure-ai-ml checks it only with a schema it downloads from Azure's schema host at registration, skips the
check when the download fails (as it does without internet), and fails with a TypeError of its own on an
error inside a list (it joins the error's path, whose list indices are ints). So a wrong MLTable would
surface, if at all, halfway through an apply. Here it is refused at validate, at its line.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amlops.manifests.errors import Problem
from amlops.manifests.repository import AssetKind, EnvironmentFile, Repository
from amlops.manifests.yamlio import read_yaml

if TYPE_CHECKING:
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import ValidationError

#: The schema amlops wrote from Microsoft's MLTable reference; the local control plane serves the same file.
SCHEMA = "MLTable.schema.json"


def mltable_files(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """Every local mltable data asset's folder holds an `MLTable` file of the documented shape."""
    for asset in repo.assets.get(AssetKind.data, {}).values():
        data = asset.document.data
        raw = data.get("path") if isinstance(data, dict) else None
        if data.get("type") != "mltable" or not isinstance(raw, str) or "://" in raw or raw.startswith("azureml:"):
            continue
        folder = (repo.root / asset.document.path).parent / raw
        if not folder.is_dir():
            continue  # local-paths says the path is missing
        file = folder / "MLTable"
        shown = file.relative_to(repo.root).as_posix() if file.is_relative_to(repo.root) else str(file)
        if not file.is_file():
            yield asset.document.problem(("path",), f"{raw!r} holds no MLTable file, which an mltable data asset needs")
            continue
        yield from _problems(file, shown)


def _problems(file: Path, shown: str) -> Iterator[Problem]:
    document, problems = read_yaml(file, shown)
    yield from problems
    if document is None:
        return
    from jsonschema.exceptions import best_match  # only a repository with an MLTable pays for its import

    for error in _validator().iter_errors(document.data):
        deepest = best_match(error.context) if error.context else error
        assert deepest is not None
        yield document.problem(tuple(deepest.absolute_path), _message(deepest))


def _message(error: ValidationError) -> str:
    """jsonschema's message, with the allowed values of an enum named rather than dumped."""
    schema: Any = error.schema
    if isinstance(schema, dict) and error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(str, schema['enum']))}"
    return str(error.message)


@functools.cache
def _validator() -> Draft7Validator:
    from jsonschema import Draft7Validator

    return Draft7Validator(json.loads(files("amlops.schemas").joinpath(SCHEMA).read_text()))
