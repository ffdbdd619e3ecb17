"""`amlops import`: an existing Azure ML CLI v2 folder brought into the layout, its files unchanged.

The folder's endpoint file goes to `endpoints/<endpoint>/endpoint.yml` and its deployment files beside
it, byte for byte; every local path they name (code, conda file, model folder) is copied to where that
same relative path points from the new place, so nothing needs editing, and must land inside the
repository. Each deployment's inline model becomes a model file, `models/<model>/v<version>.yml`,
pointing at the copied folder, and the chosen environments get an entry serving it.

Only what can work is imported: per deployment name, the first file whose local paths exist and which
names no asset that only a workspace has (`azureml:my-model:1`); the others are reported, not copied,
since two files of one name would be two definitions of one deployment. An import that cannot
produce a valid endpoint writes nothing.
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.util import load_yaml_guess_indent

from amlops.manifests import validate_repository
from amlops.manifests.errors import Problem
from amlops.manifests.load import ENDPOINT_FILE, YAML_SUFFIXES

MODEL_SCHEMA = "https://azuremlschemas.azureedge.net/latest/model.schema.json"
SAMPLE_REQUEST = "sample-request.json"


class ImportRefused(Exception):
    """The folder cannot be imported as it stands; nothing was written."""


@dataclass(frozen=True)
class Deployment:
    name: str
    file: Path
    data: dict[str, Any]


@dataclass
class ImportPlan:
    """Every file an import writes (destination -> source, or text), and what it left out and why."""

    endpoint: str
    copies: dict[Path, Path] = field(default_factory=dict)
    writes: dict[Path, str] = field(default_factory=dict)
    deployments: dict[str, str] = field(default_factory=dict)  # deployment -> model reference
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _kind(data: Any) -> str | None:
    schema = data.get("$schema") if isinstance(data, dict) else None
    return str(schema).rsplit("/", 1)[-1].removesuffix(".schema.json") if schema else None


def _read(path: Path) -> Any:
    try:
        return YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except Exception:  # a template or broken file is simply not one of the folder's Azure ML files
        return None


def plan_import(folder: Path, root: Path, environments: list[str], only: list[str] | None = None) -> ImportPlan:
    """What importing `folder` into the repository at `root` writes (`only`: these deployments). ImportRefused says why not."""
    folder, root = folder.resolve(), root.resolve()
    files = sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
    read = {p: _read(p) for p in files}
    endpoints = [p for p in files if _kind(read[p]) == "managedOnlineEndpoint"]
    if len(endpoints) != 1:
        raise ImportRefused(f"{folder}: expected one managed online endpoint file, found {len(endpoints)}")
    name = str(read[endpoints[0]]["name"])
    target = root / "endpoints" / name
    if target.exists():
        raise ImportRefused(f"endpoints/{name} already exists: remove it first, or import into another repository")
    plan = ImportPlan(name)
    plan.copies[target / ENDPOINT_FILE] = endpoints[0]
    if endpoints[0].name != ENDPOINT_FILE:
        plan.notes.append(f"{endpoints[0].name} is the endpoint file: copied as {ENDPOINT_FILE}, unchanged")
    chosen = _deployments(folder, files, read, plan)
    unknown = sorted(set(only or ()) - {d.name for d in chosen})
    if unknown:
        raise ImportRefused(f"no importable deployment named {', '.join(unknown)} in {folder}:\n  " + "\n  ".join(plan.skipped))
    for deployment in chosen:
        if only and deployment.name not in only:
            plan.skipped.append(f"{deployment.file.name}: not asked for (--deployment)")
            continue
        _add_deployment(plan, deployment, folder, target, root)
    if not plan.deployments:
        raise ImportRefused(f"{folder}: no deployment can be imported:\n  " + "\n  ".join(plan.skipped))
    _add_sample(plan, folder, target)
    for env in environments:
        plan.writes[root / "environments" / f"{env}.yaml"] = _environment_entry(root, env, name, plan.deployments)
    return plan


def _deployments(folder: Path, files: list[Path], read: dict[Path, Any], plan: ImportPlan) -> list[Deployment]:
    """One file per deployment name: of those that can work, the most self-contained (fewest assets
    named in a registry or workspace, then file-name order)."""
    candidates: dict[str, list[Deployment]] = {}
    for path in files:
        data = read[path]
        if _kind(data) != "managedOnlineDeployment":
            continue
        why = _unusable(data, path.parent)
        if why:
            plan.skipped.append(f"{path.name}: {why}")
        else:
            candidates.setdefault(str(data.get("name")), []).append(Deployment(str(data.get("name")), path, data))
    chosen = []
    for name, found in candidates.items():
        best, *others = sorted(found, key=lambda d: (json.dumps(d.data).count("azureml:"), d.file.name))
        chosen.append(best)
        plan.skipped += [f"{d.file.name}: deployment {name!r} is already imported from {best.file.name}" for d in others]
    return chosen


def _local_paths(data: dict[str, Any]) -> list[str]:
    """The paths a deployment file names on disk: its code, its conda file, its model folder."""
    code = data.get("code_configuration")
    environment, model = data.get("environment"), data.get("model")
    found = [
        code.get("code") if isinstance(code, dict) else None,
        environment.get("conda_file") if isinstance(environment, dict) else None,
        model.get("path") if isinstance(model, dict) else None,
    ]
    return [p for p in found if isinstance(p, str) and "://" not in p and not p.startswith("azureml:")]


def _unusable(data: dict[str, Any], base: Path) -> str | None:
    model = data.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("path"), str):
        return f"its model {model!r} is a workspace asset, not files in this folder: import the model's files instead"
    environment = data.get("environment")
    if isinstance(environment, str) and environment.startswith("azureml:") and "://" not in environment:
        return f"its environment {environment!r} is a workspace asset this repository does not have"
    code = data.get("code_configuration")
    if isinstance(code, dict) and isinstance(code.get("code"), str) and code["code"].startswith("azureml:"):
        return f"its code {code['code']!r} is a workspace asset this repository does not have"
    missing = [p for p in _local_paths(data) if not (base / p).exists()]
    return f"names {', '.join(missing)}, which does not exist" if missing else None


def _add_deployment(plan: ImportPlan, deployment: Deployment, folder: Path, target: Path, root: Path) -> None:
    plan.copies[target / deployment.file.name] = deployment.file
    for raw in _local_paths(deployment.data):
        source, destination = (folder / raw).resolve(), (target / raw).resolve()
        if not destination.is_relative_to(root):
            raise ImportRefused(
                f"{deployment.file.name}: {raw!r} would point outside the repository from endpoints/{plan.endpoint}"
            )
        if destination.exists() or any(destination.is_relative_to(d) for d in plan.copies if d != destination):
            continue  # already there (shared by several deployments, or inside a folder copied for another)
        plan.copies[destination] = source
    model = deployment.data["model"]
    model_name = str(model.get("name") or f"{plan.endpoint}-{deployment.name}")
    version = str(model.get("version") or "1")
    model_file = root / "models" / model_name / f"v{version}.yml"
    if model_file.exists():
        raise ImportRefused(f"models/{model_name}/v{version}.yml already exists")
    artifact = (target / model["path"]).resolve()
    relative = PurePosixPath(*([".."] * len(model_file.parent.relative_to(root).parts))) / artifact.relative_to(root).as_posix()
    plan.writes[model_file] = (
        f'$schema: {MODEL_SCHEMA}\nname: {model_name}\nversion: "{version}"\ntype: {model.get("type") or "custom_model"}\n'
        f"path: {relative}\ndescription: imported by amlops import with endpoints/{plan.endpoint}/{deployment.file.name}\n"
    )
    plan.deployments[deployment.name] = f"{model_name}:{version}"


def _add_sample(plan: ImportPlan, folder: Path, target: Path) -> None:
    """The smoke test's request: `sample-request.json`, or the folder's one whose suffix names a deployment."""
    samples = sorted(folder.glob("sample-request*.json"))
    for sample in samples:
        plan.copies[target / sample.name] = sample
    if not samples or any(s.name == SAMPLE_REQUEST for s in samples):
        return
    first = next(iter(plan.deployments))
    best = next((s for s in samples if s.stem.removeprefix("sample-request-") in first), samples[0])
    plan.copies[target / SAMPLE_REQUEST] = best
    plan.notes.append(f"{best.name} is the smoke test's request (copied as {SAMPLE_REQUEST})")


def _environment_entry(root: Path, env: str, endpoint: str, deployments: dict[str, str]) -> str:
    """environments/<env>.yaml with the endpoint added, comments and layout kept (ruamel.yaml round trip)."""
    path = root / "environments" / f"{env}.yaml"
    if not path.is_file():
        raise ImportRefused(f"environments/{env}.yaml does not exist")
    text = path.read_text(encoding="utf-8")
    _, indent, offset = load_yaml_guess_indent(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=indent - offset if offset else indent, sequence=indent, offset=offset or 0)
    data = yaml.load(text)
    endpoints = data.get("endpoints")
    if endpoints is None:
        endpoints = data["endpoints"] = CommentedMap()
    if endpoint in endpoints:
        raise ImportRefused(f"environments/{env}.yaml already declares endpoint {endpoint}")
    entry = CommentedMap(deployments=CommentedMap((d, CommentedMap(model=m)) for d, m in deployments.items()))
    if len(deployments) > 1:
        entry["traffic"] = CommentedMap((d, 100 if i == 0 else 0) for i, d in enumerate(deployments))
    endpoints[endpoint] = entry
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def carry_out(plan: ImportPlan, root: Path, environments: list[str]) -> list[Problem]:
    """Write the plan, then validate; on any problem, undo every write and return the problems."""
    originals = {path: path.read_text(encoding="utf-8") for path in plan.writes if path.exists()}
    created: list[Path] = []
    try:
        for destination in [*plan.copies, *plan.writes]:
            created += _new_parents(destination)
            if destination.exists():
                continue
            created.append(destination)
        _write(plan)
        scopes: list[str | None] = [*environments] or [None]
        problems = [p for env in scopes for p in validate_repository(root, env)[1]]
    except BaseException:
        _undo(created, originals)
        raise
    if problems:
        _undo(created, originals)
    return sorted(set(problems))


def _new_parents(path: Path) -> list[Path]:
    """The folders above `path` that do not exist yet, outermost first."""
    missing = [p for p in path.parents if not p.exists()]
    return missing[::-1]


def _write(plan: ImportPlan) -> None:
    for destination, source in plan.copies.items():
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copyfile(source, destination)
    for destination, text in plan.writes.items():
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")


def _undo(created: list[Path], originals: dict[Path, str]) -> None:
    for path in reversed(created):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    for path, text in originals.items():
        path.write_text(text, encoding="utf-8")
