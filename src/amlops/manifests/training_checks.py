"""Cross-checks of what trains: references between jobs, components, assets, clusters and batch endpoints.

Azure ML resolves these only when a job is submitted, hours into a pull request's life; here they
fail `amlops validate` with the file, line and field. Rules read the files as written (raw YAML),
so `azureml:` prefixes and `${{...}}` expressions are seen as the user typed them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from amlops.manifests.errors import Problem
from amlops.manifests.repository import AssetKind, EnvironmentFile, Repository
from amlops.manifests.yamlio import Document, FieldPath

SERVERLESS = "serverless"
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
_REGISTRY = re.compile(r"^azureml://registries/[^/]+/(?P<kind>models|environments|data|components)/[^/]+(?P<tail>/.*)?$")
_VERSIONED = re.compile(r"^azureml:(?P<name>[A-Za-z0-9][\w.-]*)(?::(?P<version>[\w.-]+)|@(?P<label>\w+))?$")
_PLURAL = {AssetKind.environment: "environments", AssetKind.data: "data", AssetKind.component: "components"}


@dataclass(frozen=True)
class Interface:
    """A component's declared inputs (with whether each is required) and outputs."""

    inputs: dict[str, bool]
    outputs: set[str]


def parse_versioned(ref: str) -> tuple[str, str] | None:
    """`azureml:<name>:<version>` as (name, version); None for anything else (registry URIs, paths, labels)."""
    match = _VERSIONED.match(ref)
    return (match["name"], match["version"]) if match and match["version"] else None


def asset_problem(repo: Repository, kind: AssetKind, ref: str) -> str | None:
    """Why `ref` does not name a released `kind`, or None when it does (in the repository or pinned in a registry)."""
    registry = _REGISTRY.match(ref)
    if registry:
        if registry["kind"] != _PLURAL[kind]:
            return f"{ref!r} is not a registry {kind.noun}"
        tail = registry["tail"] or ""
        return (
            None
            if re.fullmatch(r"/versions/[^/]+", tail) and not tail.endswith("/latest")
            else f"{ref!r} floats: pin /versions/<version>"
        )
    match = _VERSIONED.match(ref)
    if match is None:
        return None  # a path, a datastore URI or an inline definition: not an asset reference
    if match["version"] is None or match["version"] == "latest":
        return f"{ref!r} floats: name a version (azureml:<name>:<version>)"
    if repo.asset(kind, match["name"], match["version"]) is None:
        folder = (
            "components/"
            if kind is AssetKind.component
            else f"assets/{'environments' if kind is AssetKind.environment else 'data'}/"
        )
        known = sorted(v for n, v in repo.assets.get(kind, {}) if n == match["name"])
        hint = f"known versions: {', '.join(known)}" if known else f"no such {kind.noun} in {folder}"
        return f"{kind.noun} {match['name']}:{match['version']} is not defined ({hint})"
    return None


def asset_references(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """Environments, data and components that files name exist in the repository or, pinned, in a registry."""
    for document in training_documents(repo):
        for field, kind, ref in references(document.data):
            message = asset_problem(repo, kind, ref)
            if message:
                yield document.problem(field, message)
    for batch in repo.batch_endpoints.values():
        for file in batch.deployments.values():
            model = file.document.data.get("model")
            parsed = parse_versioned(model) if isinstance(model, str) else None
            if parsed and parsed not in repo.models and parsed[0] not in repo.unloaded_models:  # its own error stands
                yield file.document.problem(("model",), f"model {parsed[0]}:{parsed[1]} is not defined in models/")
    for folder in repo.endpoints.values():
        for deployment in folder.deployments.values():
            env = deployment.document.data.get("environment")
            message = asset_problem(repo, AssetKind.environment, env) if isinstance(env, str) else None
            if message:
                yield deployment.document.problem(("environment",), message)


def references(data: Any) -> Iterator[tuple[FieldPath, AssetKind, str]]:
    """(field, kind, reference) for every asset reference in a job, component or batch deployment file."""
    if not isinstance(data, dict):
        return
    if isinstance(data.get("environment"), str):
        yield ("environment",), AssetKind.environment, data["environment"]
    for key in ("training_data", "validation_data"):
        value = data.get(key)
        path = value.get("path") if isinstance(value, dict) else value
        if isinstance(path, str):
            yield (key,), AssetKind.data, path
    for name, value in _mapping(data.get("inputs")).items():
        if isinstance(value, dict) and isinstance(value.get("path"), str) and "model" not in str(value.get("type", "")):
            yield ("inputs", name, "path"), AssetKind.data, value["path"]
    for node, spec in _mapping(data.get("jobs")).items():
        component = spec.get("component") if isinstance(spec, dict) else None
        if isinstance(component, str):
            yield ("jobs", node, "component"), AssetKind.component, component
        for field, kind, ref in references(spec):
            yield ("jobs", node, *field), kind, ref
    if isinstance(data.get("component"), str) and data.get("type") == "pipeline":
        yield ("component",), AssetKind.component, data["component"]


def pipeline_bindings(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """Pipeline steps give their components' inputs and outputs, and bind only to what exists."""
    for document in training_documents(repo):
        data = document.data
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
            continue
        nodes = {name: _interface(repo, document, spec) for name, spec in data["jobs"].items()}
        own = Interface({k: False for k in _mapping(data.get("inputs"))}, set(_mapping(data.get("outputs"))))
        for name, spec in data["jobs"].items():
            interface = nodes[name]
            if isinstance(spec, dict) and interface is not None:
                yield from _node_problems(document, name, spec, interface, nodes, own)


def _node_problems(
    document: Document, name: str, spec: dict[str, Any], interface: Interface, nodes: dict[str, Interface | None], own: Interface
) -> Iterator[Problem]:
    given = _mapping(spec.get("inputs"))
    for key, value in given.items():
        field: FieldPath = ("jobs", name, "inputs", key)
        if key not in interface.inputs:
            yield document.problem(
                field, f"the component of step {name!r} has no input {key!r} (it has: {_names(interface.inputs)})"
            )
        yield from _binding_problems(document, field, value, nodes, own)
    for key in sorted(k for k, required in interface.inputs.items() if required and k not in given):
        yield document.problem(("jobs", name, "inputs"), f"step {name!r} does not give its component's required input {key!r}")
    for key, value in _mapping(spec.get("outputs")).items():
        field = ("jobs", name, "outputs", key)
        if key not in interface.outputs:
            yield document.problem(
                field, f"the component of step {name!r} has no output {key!r} (it has: {_names(interface.outputs)})"
            )
        yield from _binding_problems(document, field, value, nodes, own)


def _binding_problems(
    document: Document, field: FieldPath, value: Any, nodes: dict[str, Interface | None], own: Interface
) -> Iterator[Problem]:
    for expression in _EXPRESSION.findall(value if isinstance(value, str) else ""):
        parts = expression.split(".")
        if parts[:2] == ["parent", "inputs"] and len(parts) == 3 and parts[2] not in own.inputs:
            yield document.problem(field, f"${{{{{expression}}}}}: the pipeline has no input {parts[2]!r}")
        elif parts[:2] == ["parent", "outputs"] and len(parts) == 3 and parts[2] not in own.outputs:
            yield document.problem(field, f"${{{{{expression}}}}}: the pipeline has no output {parts[2]!r}")
        elif parts[:2] == ["parent", "jobs"] and len(parts) == 5 and parts[3] == "outputs":
            step = nodes.get(parts[2])
            if parts[2] not in nodes:
                yield document.problem(field, f"${{{{{expression}}}}}: the pipeline has no step {parts[2]!r}")
            elif step is not None and parts[4] not in step.outputs:
                yield document.problem(field, f"${{{{{expression}}}}}: step {parts[2]!r} has no output {parts[4]!r}")


def command_bindings(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """A command names only the inputs and outputs its job or component declares."""
    for document in training_documents(repo):
        data = document.data
        if not isinstance(data, dict) or not isinstance(data.get("command"), str):
            continue
        declared = {"inputs": set(_mapping(data.get("inputs"))), "outputs": set(_mapping(data.get("outputs")))}
        for expression in _EXPRESSION.findall(data["command"]):
            side, _, name = expression.partition(".")
            if side in declared and name not in declared[side]:
                yield document.problem(("command",), f"${{{{{expression}}}}}: no {side[:-1]} {name!r} is declared")


def environment_jobs(repo: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """Jobs and batch endpoints an environment names exist, and run on clusters it declares (or serverless)."""
    for env in environments:
        clusters = {c.name for c in env.environment.all_clusters}
        for index, name in enumerate(env.environment.jobs):
            job = repo.jobs.get(name)
            if job is None:
                yield env.document.problem(("jobs", index), f"no job {name!r} in jobs/ (it has: {_names(repo.jobs)})")
                continue
            for field, compute in _computes(job.document.data):
                yield from _compute_problem(job.document, field, compute, clusters, env.environment.name)
        for name, choice in env.environment.batch_endpoints.items():
            folder = repo.batch_endpoints.get(name)
            if folder is None:
                yield env.document.problem(("batch_endpoints", name), f"no batch endpoint {name!r} in batch-endpoints/")
                continue
            for index, deployment in enumerate(choice.deployments):
                file = folder.deployments.get(deployment)
                if file is None:
                    yield env.document.problem(
                        ("batch_endpoints", name, "deployments", index),
                        f"no deployment {deployment!r} in batch-endpoints/{name}/ (it has: {_names(folder.deployments)})",
                    )
                else:
                    for field, compute in _computes(file.document.data):  # a model's, or a pipeline's default
                        yield from _compute_problem(file.document, field, compute, clusters, env.environment.name)


def _computes(data: Any) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(data.get("compute"), str):
        yield ("compute",), data["compute"]
    settings = _mapping(data.get("settings"))
    if isinstance(settings.get("default_compute"), str):
        yield ("settings", "default_compute"), settings["default_compute"]
    for node, spec in _mapping(data.get("jobs")).items():
        if isinstance(spec, dict) and isinstance(spec.get("compute"), str):
            yield ("jobs", node, "compute"), spec["compute"]


def _compute_problem(document: Document, field: FieldPath, compute: str, clusters: set[str], env: str) -> Iterator[Problem]:
    name = compute.removeprefix("azureml:")
    if name != SERVERLESS and name not in clusters:
        yield document.problem(field, f"{env} declares no cluster {name!r} (it has: {_names(clusters)}; or use serverless)")


def distillation_compute(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """A distillation job's `compute` never reaches Azure (the SDK leaves it out of the request): refuse it."""
    for job in repo.jobs.values():
        if job.document.data.get("type") == "distillation" and "compute" in job.document.data:
            yield job.document.problem(
                ("compute",), "distillation jobs run on serverless compute sized by resources.instance_type; compute is ignored"
            )


def local_paths_of(data: Any) -> Iterator[tuple[FieldPath, str]]:
    if not isinstance(data, dict):
        return
    for key in ("code", "conda_file", "path"):
        if isinstance(data.get(key), str) and not data[key].startswith("azureml"):
            yield (key,), data[key]
    code = _mapping(data.get("code_configuration")).get("code")
    if isinstance(code, str) and not code.startswith("azureml"):
        yield ("code_configuration", "code"), code
    build = _mapping(data.get("build")).get("path")
    if isinstance(build, str):
        yield ("build", "path"), build
    for name, value in _mapping(data.get("inputs")).items():
        path = value.get("path") if isinstance(value, dict) else None
        if isinstance(path, str) and not path.startswith("azureml") and "://" not in path:
            yield ("inputs", name, "path"), path
    for node, spec in _mapping(data.get("jobs")).items():
        component = spec.get("component") if isinstance(spec, dict) else None
        if isinstance(component, str) and not component.startswith("azureml"):
            yield ("jobs", node, "component"), component


def _interface(repo: Repository, document: Document, spec: Any) -> Interface | None:
    """The interface of a pipeline step's component, or None when it cannot be known here (a registry's)."""
    component = spec.get("component") if isinstance(spec, dict) else None
    raw: Any = None
    if isinstance(component, dict):
        raw = component
    elif isinstance(component, str) and (match := _VERSIONED.match(component)) and match["version"]:
        found = repo.asset(AssetKind.component, match["name"], match["version"])
        raw = found.document.data if found else None
    elif isinstance(component, str) and not component.startswith("azureml"):
        target = ((repo.root / document.path).parent / component).resolve()
        found = next(
            (a for a in repo.assets.get(AssetKind.component, {}).values() if (repo.root / a.document.path).resolve() == target),
            None,
        )
        raw = found.document.data if found else None
    if not isinstance(raw, dict):
        return None
    inputs = {
        k: not (isinstance(v, dict) and (v.get("optional") or "default" in v)) for k, v in _mapping(raw.get("inputs")).items()
    }
    return Interface(inputs, set(_mapping(raw.get("outputs"))))


def training_documents(repo: Repository, with_assets: bool = False) -> Iterator[Document]:
    """Jobs, components and batch deployments (and, `with_assets`, Azure ML environments and data)."""
    yield from (job.document for job in repo.jobs.values())
    kinds = list(AssetKind) if with_assets else [AssetKind.component]
    for kind in kinds:
        yield from (asset.document for asset in repo.assets.get(kind, {}).values())
    for folder in repo.batch_endpoints.values():
        yield from (d.document for d in folder.deployments.values())


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(items: Any) -> str:
    return ", ".join(sorted(items)) or "none"
