"""Loading what trains: jobs, components, Azure ML environments and data assets, batch endpoints.

Each file goes through azure-ai-ml's own loader (`load_job`, `load_component`, `load_environment`,
`load_data`, and for batch deployments the loader of their `type`: the generic `load_batch_deployment`
rejects the `settings:` block of `type: model` deployments), after :mod:`amlops.manifests.yamlio` has
refused what is unsafe. Folders:

- `jobs/<name>.yml`: a job `amlops run` submits, named by its file;
- `components/<name>/component.yml`, with the component's code beside it;
- `assets/environments/<name>.yml` (Azure ML environments) and `assets/data/<name>.yml`;
- `batch-endpoints/<name>/endpoint.yml` and one file per deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from azure.ai.ml import load_batch_endpoint, load_component, load_data, load_job
from azure.ai.ml import load_environment as load_azure_environment
from azure.ai.ml.entities._load_functions import load_model_batch_deployment, load_pipeline_component_batch_deployment

from amlops.manifests.errors import Problem, display_path
from amlops.manifests.load import ENDPOINT_FILE, _add_once, _azure_load, _folders, _read_azure, _yaml_files
from amlops.manifests.repository import AssetFile, AssetKind, BatchDeploymentFile, BatchEndpointFolder, JobFile
from amlops.manifests.yamlio import read_yaml

JOBS = "jobs"
COMPONENTS = "components"
COMPONENT_FILE = "component.yml"
ASSET_FOLDERS = {AssetKind.environment: "assets/environments", AssetKind.data: "assets/data"}
BATCH_ENDPOINTS = "batch-endpoints"
_ASSET_LOADERS: dict[AssetKind, Callable[..., Any]] = {
    AssetKind.environment: load_azure_environment,
    AssetKind.data: load_data,
    AssetKind.component: load_component,
}
#: Batch deployment loaders by the file's `type` (Azure ML's `BatchDeploymentType`).
_BATCH_LOADERS: dict[str, Callable[..., Any]] = {
    "model": load_model_batch_deployment,
    "pipeline": load_pipeline_component_batch_deployment,
}


def load_assets(root: Path) -> tuple[dict[AssetKind, dict[tuple[str, str], AssetFile]], list[Problem]]:
    """Every Azure ML environment, data asset and component version the repository releases."""
    problems: list[Problem] = []
    assets: dict[AssetKind, dict[tuple[str, str], AssetFile]] = {kind: {} for kind in AssetKind}
    paths = {kind: _yaml_files(root / folder) for kind, folder in ASSET_FOLDERS.items()}
    paths[AssetKind.component] = [f / COMPONENT_FILE for f in _folders(root / COMPONENTS) if (f / COMPONENT_FILE).is_file()]
    for kind, files in paths.items():
        for path in files:
            asset, found = _asset_file(kind, path, root)
            problems += found
            if asset:
                name, version = asset.key
                problems += _add_once(assets[kind], asset.key, asset, "version", f"{kind.noun} {name}:{version}")
    return assets, problems


def _asset_file(kind: AssetKind, path: Path, root: Path) -> tuple[AssetFile | None, list[Problem]]:
    document, entity, problems = _read_azure(path, root, _ASSET_LOADERS[kind])
    if document is None or entity is None:
        return None, problems
    if entity.version is None or str(entity.version).lower() == "latest":
        return None, [document.problem(("version",), f"a released {kind.noun} needs an explicit version, not 'latest'")]
    return AssetFile(kind, document, entity), []


def load_jobs(root: Path) -> tuple[dict[str, JobFile], list[Problem]]:
    jobs: dict[str, JobFile] = {}
    problems: list[Problem] = []
    for path in _yaml_files(root / JOBS):
        document, job, found = _read_azure(path, root, load_job)
        problems += found
        if document is not None and job is not None:
            problems += _add_once(jobs, path.stem, JobFile(path.stem, document, job), "name", f"job {path.stem!r}")
    return jobs, problems


def load_batch_endpoints(root: Path) -> tuple[dict[str, BatchEndpointFolder], list[Problem]]:
    endpoints: dict[str, BatchEndpointFolder] = {}
    problems: list[Problem] = []
    for folder in _folders(root / BATCH_ENDPOINTS):
        endpoint, found = _batch_endpoint_folder(folder, root)
        problems += found
        if endpoint:
            endpoints[endpoint.name] = endpoint
    return endpoints, problems


def _batch_endpoint_folder(folder: Path, root: Path) -> tuple[BatchEndpointFolder | None, list[Problem]]:
    path = folder / ENDPOINT_FILE
    if not path.is_file():
        return None, [Problem(display_path(folder, root), 1, 1, "", f"a batch endpoint folder needs {ENDPOINT_FILE}")]
    document, endpoint, problems = _read_azure(path, root, load_batch_endpoint)
    if document is None or endpoint is None:
        return None, problems
    name = str(endpoint.name)
    deployments: dict[str, BatchDeploymentFile] = {}
    for file in _yaml_files(folder):
        if file.name == ENDPOINT_FILE:
            continue
        deployment, found = _batch_deployment_file(file, root, name)
        problems += found
        if deployment:
            problems += _add_once(deployments, deployment.name, deployment, "name", f"batch deployment {deployment.name!r}")
    return BatchEndpointFolder(name, folder, endpoint, document, deployments), problems


def _batch_deployment_file(path: Path, root: Path, endpoint: str) -> tuple[BatchDeploymentFile | None, list[Problem]]:
    document, problems = read_yaml(path, display_path(path, root))
    if document is None:
        return None, problems
    data = document.data if isinstance(document.data, dict) else {}
    kind = data.get("type")
    if kind not in _BATCH_LOADERS:
        return None, [document.problem(("type",), f"a batch deployment is type: model or type: pipeline, not {kind!r}")]
    declared = data.get("endpoint_name")
    if declared is not None and declared != endpoint:
        return None, [document.problem(("endpoint_name",), f"is {declared!r} but the file sits in {endpoint!r}'s folder")]
    override = [] if declared else [{"endpoint_name": endpoint}]
    deployment, problems = _azure_load(document, path, _BATCH_LOADERS[str(kind)], params_override=override)
    if deployment is None:
        return None, problems
    return BatchDeploymentFile(document, deployment), []
