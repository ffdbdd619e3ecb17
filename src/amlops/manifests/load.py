"""Loading the repository's files: environments in amlops's schema, the rest with azure-ai-ml's loaders.

Endpoint, deployment and model files go through azure-ai-ml's own `load_*` functions, so Azure ML's
schema is the schema and users' existing CLI v2 files load as they are. Every file is first read by
:mod:`amlops.manifests.yamlio`, which refuses what is unsafe and remembers positions, so the
loaders' errors can be pinned to a line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from azure.ai.ml import load_compute, load_model, load_online_deployment, load_online_endpoint, load_serverless_endpoint
from azure.ai.ml._schema import ModelSchema
from azure.ai.ml._schema._deployment.online.online_deployment import ManagedOnlineDeploymentSchema
from azure.ai.ml._schema._endpoint.online.online_endpoint import ManagedOnlineEndpointSchema
from azure.ai.ml._schema.core.schema import PathAwareSchema
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint
from marshmallow import ValidationError as SchemaError

from amlops.manifests import sdk_frames, sdk_yaml
from amlops.manifests.environment import Environment
from amlops.manifests.errors import ManifestError, Problem, did_you_mean, display_path
from amlops.manifests.repository import DeploymentFile, EndpointFolder, EnvironmentFile, ModelFile, Repository
from amlops.manifests.schema import validate
from amlops.manifests.yamlio import Document, read_yaml

sdk_frames.install()
sdk_yaml.install()

YAML_SUFFIXES = (".yml", ".yaml")
ENDPOINT_FILE = "endpoint.yml"
SERVERLESS_FILE = "serverless.yml"
SAMPLE_REQUEST = "sample-request.json"


def load_environment(root: Path, name: str) -> Environment:
    """One environment's manifest, for the infrastructure program. Raises ManifestError."""
    path = _find_yaml(root / "environments", name)
    if path is None:
        raise ManifestError([Problem(f"environments/{name}.yaml", 1, 1, "", "no such environment file")])
    loaded, problems = _environment_file(path, root)
    if loaded is None:
        raise ManifestError(problems)
    return loaded.environment


def load_repository(root: Path) -> tuple[Repository, list[Problem]]:
    """Everything under `root`, with every problem found in the files themselves.

    Files with problems are left out of the returned repository, so cross-checks run on what
    loaded and the user sees all problems in one pass.
    """
    problems: list[Problem] = []
    environments: dict[str, EnvironmentFile] = {}
    for path in _yaml_files(root / "environments"):
        loaded, found = _environment_file(path, root)
        problems += found
        if loaded:
            problems += _add_once(
                environments, loaded.environment.name, loaded, "name", f"environment {loaded.environment.name!r}"
            )
    models: dict[tuple[str, str], ModelFile] = {}
    unloaded_models: set[str] = set()
    for path in sorted(p for folder in _folders(root / "models") for p in _yaml_files(folder)):
        model, found = _model_file(path, root)
        problems += found
        if model:
            problems += _add_once(models, model.key, model, "version", f"model {model.key[0]}:{model.key[1]}")
        else:
            unloaded_models |= {path.parent.name, _declared_name(path, root)}
    endpoints: dict[str, EndpointFolder] = {}
    unloaded_endpoints: set[str] = set()
    for folder in _folders(root / "endpoints"):
        endpoint, found = _endpoint_folder(folder, root)
        problems += found
        if endpoint is None:
            unloaded_endpoints.add(folder.name)
        elif endpoint.name in endpoints:
            first = endpoints[endpoint.name].document.path
            problems.append(endpoint.document.problem(("name",), f"endpoint {endpoint.name!r} is also defined in {first}"))
        else:
            endpoints[endpoint.name] = endpoint
    from amlops.manifests import training  # it builds on this module's readers

    assets, found_assets = training.load_assets(root)
    jobs, found_jobs = training.load_jobs(root)
    batch, found_batch = training.load_batch_endpoints(root)
    from amlops.manifests.schedules import load_schedules

    schedules, found_schedules = load_schedules(root)
    problems += found_assets + found_jobs + found_batch + found_schedules
    unloaded = (frozenset(unloaded_models - {""}), frozenset(unloaded_endpoints))
    return Repository(root, environments, models, endpoints, *unloaded, assets, jobs, batch, schedules), problems


def _declared_name(path: Path, root: Path) -> str:
    """The `name` a file that did not load declares, if it can be read at all: what other files call it."""
    document, _ = read_yaml(path, display_path(path, root))
    name = document.data.get("name") if document is not None and isinstance(document.data, dict) else None
    return name if isinstance(name, str) else path.stem


def _add_once(loaded: dict[Any, Any], key: Any, item: Any, field: str, what: str) -> list[Problem]:
    """Keep the first file that defines `key`; a second one is a duplicate, reported where it stands."""
    if key in loaded:
        return [item.document.problem((field,), f"{what} is also defined in {loaded[key].document.path}")]
    loaded[key] = item
    return []


def _environment_file(path: Path, root: Path) -> tuple[EnvironmentFile | None, list[Problem]]:
    document, problems = read_yaml(path, display_path(path, root))
    if document is None:
        return None, problems
    environment, problems = validate(document, Environment)
    if environment is None:
        return None, problems
    if environment.name != path.stem:
        return None, [document.problem(("name",), f"name {environment.name!r} differs from the file name {path.stem!r}")]
    return EnvironmentFile(document, environment), []


def _model_file(path: Path, root: Path) -> tuple[ModelFile | None, list[Problem]]:
    document, model, problems = _read_azure(path, root, load_model)
    if document is None or model is None:
        return None, problems
    if model.version is None:
        return None, [document.problem(("version",), "a released model needs an explicit version")]
    return ModelFile(document, model), []


def _endpoint_folder(folder: Path, root: Path) -> tuple[EndpointFolder | None, list[Problem]]:
    problems: list[Problem] = []
    serverless_path, endpoint_path = folder / SERVERLESS_FILE, folder / ENDPOINT_FILE
    if serverless_path.is_file():
        document, serverless, problems = _read_azure(serverless_path, root, load_serverless_endpoint)
        if document is None or serverless is None:
            return None, problems
        return EndpointFolder(serverless.name, folder, serverless=serverless, serverless_document=document), []
    if not endpoint_path.is_file():
        shown = display_path(folder, root)
        return None, [Problem(shown, 1, 1, "", f"an endpoint folder needs {ENDPOINT_FILE} or {SERVERLESS_FILE}")]
    document, endpoint, problems = _read_azure(endpoint_path, root, load_online_endpoint)
    if document is None or endpoint is None:
        return None, problems
    if not isinstance(endpoint, ManagedOnlineEndpoint):
        return None, [document.problem(("$schema",), "amlops manages managed online endpoints only")]
    deployments: dict[str, DeploymentFile] = {}
    unloaded: set[str] = set()
    for path in _yaml_files(folder):
        if path.name in (ENDPOINT_FILE, SERVERLESS_FILE):
            continue
        deployment, found = _deployment_file(path, root, str(endpoint.name))
        problems += found
        if deployment:
            problems += _add_once(deployments, deployment.name, deployment, "name", f"deployment {deployment.name!r}")
        else:
            unloaded.add(_declared_name(path, root))
    problems += _sample_request_problems(folder, root)
    return EndpointFolder(str(endpoint.name), folder, endpoint, document, deployments, unloaded=frozenset(unloaded)), problems


def _sample_request_problems(folder: Path, root: Path) -> list[Problem]:
    """The smoke test's request is JSON: a broken one would fail every rollout at its smoke test."""
    path = folder / SAMPLE_REQUEST
    if not path.is_file():
        return []
    shown = display_path(path, root)
    try:
        json.loads(path.read_bytes())
    except UnicodeDecodeError as exc:
        return [Problem(shown, 1, 1, "", f"not UTF-8 text ({exc.reason})")]
    except json.JSONDecodeError as exc:
        return [Problem(shown, exc.lineno, exc.colno, "", f"invalid JSON: {exc.msg}")]
    except OSError as exc:
        return [Problem(shown, 1, 1, "", f"cannot read file: {exc.strerror}")]
    return []


def _deployment_file(path: Path, root: Path, endpoint: str) -> tuple[DeploymentFile | None, list[Problem]]:
    document, problems = read_yaml(path, display_path(path, root))
    if document is None:
        return None, problems
    declared = document.data.get("endpoint_name") if isinstance(document.data, dict) else None
    if declared is not None and declared != endpoint:
        return None, [
            document.problem(("endpoint_name",), f"is {declared!r} but the file sits in endpoint {endpoint!r}'s folder")
        ]
    # As the CLI's --endpoint-name does: the folder supplies the endpoint a deployment belongs to.
    override = [] if declared else [{"endpoint_name": endpoint}]
    deployment, problems = _azure_load(document, path, load_online_deployment, params_override=override)
    if deployment is None:
        return None, problems
    if not isinstance(deployment, ManagedOnlineDeployment):
        return None, [document.problem(("$schema",), "amlops manages managed online deployments only")]
    return DeploymentFile(document, deployment), []


#: Azure ML CLI v2 file kinds amlops reads, by the `$schema` name their files declare.
LOADERS: dict[str, Callable[..., Any]] = {
    "managedOnlineEndpoint": load_online_endpoint,
    "managedOnlineDeployment": load_online_deployment,
    "model": load_model,
    "amlCompute": load_compute,
    "serverlessEndpoint": load_serverless_endpoint,
}
_SCHEMA_NAME = re.compile(r"/([A-Za-z]+)\.schema\.json\s*$")


def load_cli_file(path: Path, root: Path, endpoint_name: str | None = None) -> tuple[Any, list[Problem]]:
    """Any one Azure ML CLI v2 file of the kinds in :data:`LOADERS`, as a user brings it.

    The kind comes from `$schema`, or for files without one from their keys. `endpoint_name` plays the
    CLI's `--endpoint-name` for deployment files that do not name their endpoint.
    """
    document, problems = read_yaml(path, display_path(path, root))
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
    return _azure_load(document, path, LOADERS[kind], **kwargs)


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


def _read_azure(path: Path, root: Path, loader: Callable[..., Any]) -> tuple[Document | None, Any, list[Problem]]:
    """Read a file safely, then load it with an azure-ai-ml loader."""
    document, problems = read_yaml(path, display_path(path, root))
    if document is None:
        return None, None, problems
    entity, problems = _azure_load(document, path, loader)
    return document, entity, problems


def _azure_load(document: Document, path: Path, loader: Callable[..., Any], **kwargs: Any) -> tuple[Any, list[Problem]]:
    """Run an azure-ai-ml loader; its schema errors become positioned problems, never a traceback."""
    if not isinstance(document.data, dict):
        return None, [document.problem((), "expected a mapping of keys to values")]
    try:
        return loader(path, **kwargs), []
    except SchemaError as exc:
        return None, [
            document.problem(field, message + (_suggest_key(loader, field) if message == "unknown key" else ""))
            for field, message in _schema_messages(exc)
        ]
    except Exception as exc:  # the SDK raises many kinds for bad input; none may escape as a traceback
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return None, [document.problem((), message.strip().splitlines()[0])]


#: azure-ai-ml's schemas behind its loaders: where a did-you-mean for a misspelt key finds the real ones.
_SCHEMAS: dict[Callable[..., Any], type[PathAwareSchema]] = {
    load_online_endpoint: ManagedOnlineEndpointSchema,
    load_online_deployment: ManagedOnlineDeploymentSchema,
    load_model: ModelSchema,
}


def _suggest_key(loader: Callable[..., Any], field: tuple[str | int, ...]) -> str:
    schema_class = _SCHEMAS.get(loader)
    if schema_class is None or not field:
        return ""
    schema: Any = schema_class(context={"base_path": "."})
    for part in field[:-1]:
        nested = schema.fields.get(part) if isinstance(part, str) else None
        schema = getattr(nested, "schema", None)
        if schema is None or not hasattr(schema, "fields"):
            return ""
    return did_you_mean(str(field[-1]), [name for name in schema.fields if name != "schema_ignored"])


_REPORT = re.compile(r"failed:\s*(\{.*\})\s*(?:\n|$)", re.DOTALL)


def _schema_messages(exc: SchemaError) -> list[tuple[tuple[str | int, ...], str]]:
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
    if isinstance(detail, dict) and set(detail) <= {"key", "value"} and "value" in detail:  # a Dict entry's own problems
        return _leaves({k: v for k, v in detail.items() if k != "value"}, field) + _leaves(detail["value"], field)
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

    if not (root / "environments").is_dir():
        shown = root.resolve().as_posix()
        return Repository(root, {}, {}, {}), [
            Problem(shown, 1, 1, "", "not an amlops repository: no environments/ folder (run it in one, or pass --repo)")
        ]
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
