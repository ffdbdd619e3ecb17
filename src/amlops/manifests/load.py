"""Loading the repository's files: environments in amlops's schema, the rest with azure-ai-ml's loaders.

Endpoint, deployment and model files go through azure-ai-ml's own `load_*` functions, so Azure ML's
schema is the schema and users' existing CLI v2 files load as they are. Every file is first read by
:mod:`amlops.manifests.yamlio`, which refuses what is unsafe and remembers positions, so the
loaders' errors can be pinned to a line. What each file gave is cached (:mod:`amlops.manifests.cache`):
the SDK is imported, and a loader run, only for a file that changed.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Callable, Iterator
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Any

from amlops.manifests import cache
from amlops.manifests.environment import Environment
from amlops.manifests.errors import ManifestError, Problem, display_path
from amlops.manifests.repository import (
    DeploymentFile,
    EndpointFolder,
    EnvironmentFile,
    Model,
    ModelFile,
    OnlineDeployment,
    OnlineEndpoint,
    Repository,
    Serverless,
)
from amlops.manifests.schema import validate
from amlops.manifests.yamlio import Document, parse_yaml, read_text

YAML_SUFFIXES = (".yml", ".yaml")
ENDPOINT_FILE = "endpoint.yml"
SERVERLESS_FILE = "serverless.yml"


def load_environment(root: Path, name: str) -> Environment:
    """One environment's manifest, for the infrastructure program. Raises ManifestError."""
    path = _find_yaml(root / "environments", name)
    if path is None:
        raise ManifestError([Problem(f"environments/{name}.yaml", 1, 1, "", "no such environment file")])
    reader = _Reader(root)
    loaded, problems = reader.environment_file(path)
    reader.cache.save()
    if loaded is None:
        raise ManifestError(problems)
    return loaded.environment


def load_repository(root: Path) -> tuple[Repository, list[Problem]]:
    """Everything under `root`, with every problem found in the files themselves.

    Files with problems are left out of the returned repository, so cross-checks run on what
    loaded and the user sees all problems in one pass.
    """
    reader = _Reader(root)
    problems: list[Problem] = []
    environments: dict[str, EnvironmentFile] = {}
    for path in _yaml_files(root / "environments"):
        loaded, found = reader.environment_file(path)
        problems += found
        if loaded:
            problems += _add_once(
                environments, loaded.environment.name, loaded, "name", f"environment {loaded.environment.name!r}"
            )
    models: dict[tuple[str, str], ModelFile] = {}
    for path in sorted(p for folder in _folders(root / "models") for p in _yaml_files(folder)):
        model, found = reader.model_file(path)
        problems += found
        if model:
            problems += _add_once(models, model.key, model, "version", f"model {model.key[0]}:{model.key[1]}")
    endpoints: dict[str, EndpointFolder] = {}
    for folder in _folders(root / "endpoints"):
        endpoint, found = reader.endpoint_folder(folder)
        problems += found
        if endpoint:
            endpoints[endpoint.name] = endpoint
    reader.cache.save()
    return Repository(root, environments, models, endpoints), problems


def _add_once(loaded: dict[Any, Any], key: Any, item: Any, field: str, what: str) -> list[Problem]:
    """Keep the first file that defines `key`; a second one is a duplicate, reported where it stands."""
    if key in loaded:
        return [item.document.problem((field,), f"{what} is also defined in {loaded[key].document.path}")]
    loaded[key] = item
    return []


#: What amlops keeps of each kind of Azure ML file: the entity class the loader must return, and its summary.
SUMMARIES: dict[str, tuple[str, type[Model | OnlineEndpoint | OnlineDeployment | Serverless]]] = {
    "model": ("Model", Model),
    "managedOnlineEndpoint": ("ManagedOnlineEndpoint", OnlineEndpoint),
    "managedOnlineDeployment": ("ManagedOnlineDeployment", OnlineDeployment),
    "serverlessEndpoint": ("ServerlessEndpoint", Serverless),
}


class _Reader:
    """Reads a repository's files through the cache; the SDK is imported only on a miss."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cache = cache.FileCache(root)
        self._resolved_root = os.path.realpath(root) + os.sep
        self._texts: dict[Path, str] = {}

    def shown(self, path: Path) -> str:
        """:func:`display_path`, resolving the root once rather than for each of thousands of files."""
        resolved = os.path.realpath(path)
        if resolved.startswith(self._resolved_root):
            return resolved[len(self._resolved_root) :].replace(os.sep, "/")
        return display_path(path, self.root)

    @cached_property
    def sdk_version(self) -> str:
        return version("azure-ai-ml")

    def document(self, path: Path) -> tuple[Document | None, list[Problem]]:
        shown = self.shown(path)
        text, problems = read_text(path, shown)
        if text is None:
            return None, problems
        self._texts[path] = text
        entry = cache.key("yaml", shown, text)
        hit = self.cache.get(entry)
        if hit is not None and "problems" in hit:
            return None, cache.decode_problems(hit["problems"])
        if hit is not None:
            return cache.decode_document(shown, hit["document"]), []
        document, problems = parse_yaml(text, shown)
        try:
            stored = {"document": cache.encode_document(document)} if document else {}
        except cache.Unencodable:
            return document, problems
        self.cache.put(entry, stored or {"problems": cache.encode_problems(problems)})
        return document, problems

    def environment_file(self, path: Path) -> tuple[EnvironmentFile | None, list[Problem]]:
        document, problems = self.document(path)
        if document is None:
            return None, problems
        environment, problems = validate(document, Environment)
        if environment is None:
            return None, problems
        if environment.name != path.stem:
            problem = document.problem(("name",), f"name {environment.name!r} differs from the file name {path.stem!r}")
            return None, [problem]
        return EnvironmentFile(document, environment), []

    def model_file(self, path: Path) -> tuple[ModelFile | None, list[Problem]]:
        document, problems = self.document(path)
        if document is None:
            return None, problems
        model, problems = self.summary(document, path, "model")
        if model is None:
            return None, problems
        assert isinstance(model, Model)
        if model.version is None:
            return None, [document.problem(("version",), "a released model needs an explicit version")]
        return ModelFile(document, model), []

    def endpoint_folder(self, folder: Path) -> tuple[EndpointFolder | None, list[Problem]]:
        serverless_path, endpoint_path = folder / SERVERLESS_FILE, folder / ENDPOINT_FILE
        if serverless_path.is_file():
            document, problems = self.document(serverless_path)
            serverless, problems = self.summary(document, serverless_path, "serverlessEndpoint") if document else (None, problems)
            if document is None or serverless is None:
                return None, problems
            assert isinstance(serverless, Serverless)
            return EndpointFolder(serverless.name, folder, serverless=serverless, serverless_document=document), []
        if not endpoint_path.is_file():
            shown = self.shown(folder)
            return None, [Problem(shown, 1, 1, "", f"an endpoint folder needs {ENDPOINT_FILE} or {SERVERLESS_FILE}")]
        document, problems = self.document(endpoint_path)
        endpoint, problems = self.summary(document, endpoint_path, "managedOnlineEndpoint") if document else (None, problems)
        if document is None or endpoint is None:
            return None, problems
        assert isinstance(endpoint, OnlineEndpoint)
        deployments: dict[str, DeploymentFile] = {}
        for path in _yaml_files(folder):
            if path.name in (ENDPOINT_FILE, SERVERLESS_FILE):
                continue
            deployment, found = self.deployment_file(path, endpoint.name)
            problems += found
            if deployment:
                problems += _add_once(deployments, deployment.name, deployment, "name", f"deployment {deployment.name!r}")
        return EndpointFolder(endpoint.name, folder, endpoint, document, deployments), problems

    def deployment_file(self, path: Path, endpoint: str) -> tuple[DeploymentFile | None, list[Problem]]:
        document, problems = self.document(path)
        if document is None:
            return None, problems
        declared = document.data.get("endpoint_name") if isinstance(document.data, dict) else None
        if declared is not None and declared != endpoint:
            return None, [
                document.problem(("endpoint_name",), f"is {declared!r} but the file sits in endpoint {endpoint!r}'s folder")
            ]
        # As the CLI's --endpoint-name does: the folder supplies the endpoint a deployment belongs to.
        override = [] if declared else [{"endpoint_name": endpoint}]
        deployment, problems = self.summary(document, path, "managedOnlineDeployment", params_override=override)
        if deployment is None:
            return None, problems
        assert isinstance(deployment, OnlineDeployment)
        return DeploymentFile(document, deployment), []

    def summary(self, document: Document, path: Path, kind: str, **kwargs: Any) -> tuple[Any, list[Problem]]:
        """What azure-ai-ml's loader for `kind` makes of the file, as amlops's summary, or its problems."""
        entity_class, summary = SUMMARIES[kind]
        named = list(_named_paths(document.data, os.path.dirname(path)))
        entry = cache.key("sdk", self.sdk_version, kind, kwargs, document.path, self._texts[path], named)
        hit = self.cache.get(entry)
        if hit is not None:
            return (summary(**hit["summary"]), []) if "summary" in hit else (None, cache.decode_problems(hit["problems"]))
        entity, problems = _azure_load(document, path, _loader(kind), **kwargs)
        if entity is not None and not isinstance(entity, getattr(importlib.import_module("azure.ai.ml.entities"), entity_class)):
            entity, problems = None, [document.problem(("$schema",), f"amlops manages {_MANAGED[kind]} only")]
        made = summary.of(entity) if entity is not None else None
        self.cache.put(entry, {"summary": vars(made)} if made else {"problems": cache.encode_problems(problems)})
        return made, problems


_MANAGED = {
    "managedOnlineEndpoint": "managed online endpoints",
    "managedOnlineDeployment": "managed online deployments",
    "model": "models",
    "serverlessEndpoint": "serverless endpoints",
}


def _named_paths(data: Any, folder: str) -> Iterator[tuple[str, int | None, int | None]]:
    """(string, size, mtime) for every string in the file that names an existing path: what a loader may read."""
    if isinstance(data, dict):
        for value in data.values():
            yield from _named_paths(value, folder)
    elif isinstance(data, list):
        for value in data:
            yield from _named_paths(value, folder)
    elif isinstance(data, str) and data and "\n" not in data and len(data) < 1024:
        try:
            stat = os.stat(os.path.join(folder, data))
        except (OSError, ValueError):
            return
        yield data, stat.st_size, stat.st_mtime_ns


#: Azure ML CLI v2 file kinds amlops reads, by the `$schema` name their files declare: azure-ai-ml's loader for each.
LOADERS: dict[str, str] = {
    "managedOnlineEndpoint": "load_online_endpoint",
    "managedOnlineDeployment": "load_online_deployment",
    "model": "load_model",
    "amlCompute": "load_compute",
    "serverlessEndpoint": "load_serverless_endpoint",
}
_SCHEMA_NAME = re.compile(r"/([A-Za-z]+)\.schema\.json\s*$")


def _loader(kind: str) -> Callable[..., Any]:
    """azure-ai-ml's loader for `kind`, imported on first use: importing the SDK takes over a second."""
    loader: Callable[..., Any] = getattr(importlib.import_module("azure.ai.ml"), LOADERS[kind])
    return loader


def load_cli_file(path: Path, root: Path, endpoint_name: str | None = None) -> tuple[Any, list[Problem]]:
    """Any one Azure ML CLI v2 file of the kinds in :data:`LOADERS`, as a user brings it, as azure-ai-ml's entity.

    The kind comes from `$schema`, or for files without one from their keys. `endpoint_name` plays the
    CLI's `--endpoint-name` for deployment files that do not name their endpoint.
    """
    document, problems = _Reader(root).document(path)
    if document is None:
        return None, problems
    if not isinstance(document.data, dict):
        return None, [document.problem((), "expected a mapping of keys to values")]
    kind = _kind(document.data)
    if kind not in LOADERS:
        return None, [document.problem(("$schema",), f"not a file kind amlops reads ({kind or 'unknown'})")]
    kwargs: dict[str, Any] = {}
    if kind == "managedOnlineDeployment" and "endpoint_name" not in document.data and endpoint_name:
        kwargs["params_override"] = [{"endpoint_name": endpoint_name}]
    return _azure_load(document, path, _loader(kind), **kwargs)


def _kind(data: dict[str, Any]) -> str | None:
    match = _SCHEMA_NAME.search(str(data.get("$schema", "")))
    if match:
        return match.group(1)
    if "model_id" in data:
        return "serverlessEndpoint"
    if "auth_mode" in data:
        return "managedOnlineEndpoint"
    if "instance_type" in data or "code_configuration" in data:
        return "managedOnlineDeployment"
    if data.get("type") == "amlcompute":
        return "amlCompute"
    if "path" in data and "name" in data:
        return "model"
    return None


def _azure_load(document: Document, path: Path, loader: Callable[..., Any], **kwargs: Any) -> tuple[Any, list[Problem]]:
    """Run an azure-ai-ml loader; its schema errors become positioned problems, never a traceback."""
    from marshmallow import ValidationError as SchemaError

    if not isinstance(document.data, dict):
        return None, [document.problem((), "expected a mapping of keys to values")]
    try:
        return loader(path, **kwargs), []
    except SchemaError as exc:
        return None, [document.problem(field, message) for field, message in _schema_messages(exc)]
    except Exception as exc:  # the SDK raises many kinds for bad input; none may escape as a traceback
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return None, [document.problem((), message.strip().splitlines()[0])]


_REPORT = re.compile(r"failed:\s*(\{.*\})\s*(?:\n|$)", re.DOTALL)


def _schema_messages(exc: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Flatten azure-ai-ml's marshmallow report into (field, message) pairs, one per field."""
    text = exc.messages[0] if isinstance(exc.messages, list) and exc.messages else str(exc)
    match = _REPORT.search(str(text))
    if not match:
        return [((), str(text).strip().splitlines()[0])]
    try:
        report = json.loads(match.group(1).rsplit("}", 1)[0] + "}")
    except json.JSONDecodeError:
        return [((), str(text).strip().splitlines()[0])]
    out: list[tuple[tuple[str | int, ...], str]] = []
    for field, detail in report.items():
        leaves = _leaves(detail, (field,))
        specific = [(f, m) for f, m in leaves if "_schema" not in f] or leaves
        seen: set[tuple[tuple[str | int, ...], str]] = set()
        for item in specific:
            if item not in seen:
                seen.add(item)
                out.append(item)
    return out


def _leaves(detail: Any, field: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    if isinstance(detail, dict):
        return [leaf for key, value in detail.items() for leaf in _leaves(value, field + (key,))]
    if isinstance(detail, list):
        return [leaf for value in detail for leaf in _leaves(value, field)]
    message = _clean(str(detail))
    return [(field, message)] if message else []


def _clean(message: str) -> str:
    message = message.strip().splitlines()[0] if message.strip() else ""
    return {"Unknown field.": "unknown key", "Missing data for required field.": "required key is missing"}.get(
        message, message.rstrip(":")
    )


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in YAML_SUFFIXES)


def _folders(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _find_yaml(folder: Path, stem: str) -> Path | None:
    return next((folder / f"{stem}{s}" for s in YAML_SUFFIXES if (folder / f"{stem}{s}").is_file()), None)


def validate_repository(root: Path, environment: str | None = None) -> tuple[Repository, list[Problem]]:
    """Load everything and run every cross-check: what `amlops validate` reports.

    `environment` narrows the per-environment rules to one environment; every file is still read.
    """
    from amlops.manifests.checks import check

    repo, problems = load_repository(root)
    scope = None
    if environment is not None:
        if environment not in repo.environments:
            known = ", ".join(sorted(repo.environments)) or "none"
            return repo, problems + [
                Problem(f"environments/{environment}.yaml", 1, 1, "", f"no such environment (known: {known})")
            ]
        scope = [repo.environments[environment]]
    return repo, sorted(set(problems + check(repo, scope)))
