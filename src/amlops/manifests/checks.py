"""Cross-checks over a loaded repository: the rules no single file's schema can see.

Each rule is a function from the repository (and the environments in scope) to problems, listed in
:data:`RULES` under a name, so `amlops validate` runs them all and each can be tested on its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from amlops.manifests.autoscale_checks import autoscale_instances
from amlops.manifests.environment import DEPLOYMENT_SUFFIX, EndpointChoice, ServerlessChoice
from amlops.manifests.errors import Problem, did_you_mean
from amlops.manifests.evaluation_checks import evaluation_references
from amlops.manifests.flows import flow_deployments, flow_models
from amlops.manifests.mltable_checks import mltable_files
from amlops.manifests.references import parse_model_ref, resolve
from amlops.manifests.repository import DeploymentFile, EnvironmentFile, Repository
from amlops.manifests.retrain_checks import retrained_models
from amlops.manifests.schedules import environment_schedules, schedule_files
from amlops.manifests.skus import suggest, vm_size
from amlops.manifests.training_checks import (
    asset_references,
    command_bindings,
    distillation_compute,
    environment_jobs,
    local_paths_of,
    pipeline_bindings,
    training_documents,
)
from amlops.manifests.yamlio import Document, FieldPath

Rule = Callable[[Repository, list[EnvironmentFile]], Iterator[Problem]]

#: Environments that must only name pinned versions: what they serve may change only by a commit.
PINNED_ENVIRONMENTS = ("staging", "prod")
ENDPOINT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$")
DEPLOYMENT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*$")
MODEL_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$")
MAX_MIRROR = 50
ARM_ID = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/[^/]+/[^/]+", re.IGNORECASE)


def endpoint_names(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """Online and serverless endpoint names: 3-32 characters, a letter first; the folder's name."""
    for folder in repo.endpoints.values():
        document = folder.document
        if not ENDPOINT_NAME.match(folder.name):
            yield document.problem(
                ("name",),
                f"{folder.name!r} is not a valid endpoint name: 3-32 letters, digits and '-', "
                "starting with a letter and not ending with '-'",
            )
        if folder.name != folder.folder.name:
            yield document.problem(("name",), f"is {folder.name!r} but the folder is {folder.folder.name!r}")


def deployment_names(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """Deployment names leave room for the spec-hash suffix amlops adds within Azure's 32."""
    limit = 32 - DEPLOYMENT_SUFFIX
    for deployment in _deployment_files(repo):
        name = deployment.name
        if not DEPLOYMENT_NAME.match(name) or not 3 <= len(name) <= limit:
            yield deployment.document.problem(
                ("name",),
                f"{name!r}: deployment names are 3-{limit} letters, digits and '-', starting with a letter "
                f"(Azure allows 32; amlops adds a {DEPLOYMENT_SUFFIX}-character version suffix)",
            )


def model_names(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """Model names Azure ML accepts, and concrete versions (a released version is immutable)."""
    for model in repo.models.values():
        name, version = model.key
        if not MODEL_NAME.match(name):
            yield model.document.problem(("name",), f"{name!r}: letters, digits, '.', '_' and '-', up to 255")
        if version.lower() == "latest":
            yield model.document.problem(("version",), "a released model needs a concrete version, not 'latest'")


def environment_endpoints(repo: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """Endpoints and deployments an environment serves exist in `endpoints/`, of the right kind."""
    for env in environments:
        for name, choice in env.environment.endpoints.items():
            field = ("endpoints", name)
            folder = repo.endpoints.get(name)
            if folder is None and name in repo.unloaded_endpoints:
                continue  # its own files' problems say why
            if folder is None:
                yield env.document.problem(field, f"no endpoint {name!r} in endpoints/{did_you_mean(name, repo.endpoints)}")
            elif isinstance(choice, ServerlessChoice) and folder.serverless is None:
                yield env.document.problem(field, f"{name!r} is an online endpoint, not serverless")
            elif isinstance(choice, EndpointChoice):
                if folder.endpoint is None:
                    yield env.document.problem(field, f"{name!r} is a serverless endpoint: use 'serverless: true'")
                    continue
                for deployment in choice.deployments:
                    if deployment not in folder.deployments and deployment not in folder.unloaded:
                        known = ", ".join(sorted(folder.deployments)) or "none"
                        yield env.document.problem(
                            field + ("deployments", deployment),
                            f"no deployment {deployment!r} in endpoints/{name}/ (it has: {known})"
                            + did_you_mean(deployment, folder.deployments),
                        )


def model_references(repo: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """Every model an environment serves is a model file in `models/` or a registry URI."""
    for env in environments:
        for endpoint, deployment, choice in _choices(env):
            field = ("endpoints", endpoint, "deployments", deployment, "model")
            ref = parse_model_ref(choice.model)
            versions = sorted(v for n, v in repo.models if ref is not None and n == ref.name)
            if ref is None:
                yield env.document.problem(field, f"{choice.model!r} is not a model reference (name:version)")
            elif ref.registry is None and ref.name in repo.unloaded_models:
                continue  # a model file of that name did not load: its problems say why
            elif ref.floating and resolve(ref, versions) is None:
                if env.environment.name in PINNED_ENVIRONMENTS:
                    continue  # pinned-references says why
                why = "no version of it in models/" + did_you_mean(ref.name, {n for n, _ in repo.models})
                if ref.registry is not None or ref.label not in (None, "latest"):
                    why = "amlops resolves only @latest of models in models/"
                yield env.document.problem(field, f"{choice.model!r} floats and cannot be resolved ({why}): name a version")
            elif ref.registry is None and not ref.floating and (ref.name, ref.version) not in repo.models:
                known = f"known versions: {', '.join(versions)}" if versions else "no such model in models/"
                hint = "" if versions else did_you_mean(ref.name, {n for n, _ in repo.models})
                yield env.document.problem(field, f"model {ref} is not defined ({known}){hint}")


def serverless_models(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """A serverless endpoint serves a model-catalog model: a registry URI."""
    for folder in repo.endpoints.values():
        if folder.serverless is None or folder.serverless_document is None:
            continue
        ref = parse_model_ref(str(folder.serverless.model_id or ""))
        if ref is None or ref.registry is None:
            yield folder.serverless_document.problem(
                ("model_id",), "a serverless endpoint's model_id is a registry URI: azureml://registries/<registry>/models/<name>"
            )


def traffic(repo: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """Traffic names only declared deployments and sums to 100."""
    for env in environments:
        for name, choice in env.environment.endpoints.items():
            if not isinstance(choice, EndpointChoice):
                continue
            yield from _split_problems(env.document, ("endpoints", name), env.environment.traffic(name), set(choice.deployments))
    for folder in repo.endpoints.values():
        declared = folder.endpoint.traffic if folder.endpoint else None
        if declared and folder.endpoint_document:
            known = set(folder.deployments) | folder.unloaded
            yield from _split_problems(folder.endpoint_document, (), dict(declared), known)


def _split_problems(document: Document, field: FieldPath, split: dict[str, int], declared: set[str]) -> Iterator[Problem]:
    for deployment in split:
        if deployment not in declared:
            yield document.problem(field + ("traffic", deployment), f"names {deployment!r}, which is not a declared deployment")
    total = sum(split.values())
    if total != 100:
        yield document.problem(field + ("traffic",), f"sums to {total}; traffic must sum to 100")


def mirror_traffic(_: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """Mirror traffic: at most 50 %, to a declared deployment that takes no live traffic."""
    for env in environments:
        for name, choice in env.environment.endpoints.items():
            if not isinstance(choice, EndpointChoice):
                continue
            live = {d for d, share in env.environment.traffic(name).items() if share > 0}
            for deployment, _share in choice.mirror_traffic.items():
                field = ("endpoints", name, "mirror_traffic", deployment)
                if deployment not in choice.deployments:
                    yield env.document.problem(field, f"names {deployment!r}, which is not a declared deployment")
                elif deployment in live:
                    yield env.document.problem(
                        field, f"{deployment!r} takes live traffic; mirror only to a deployment that does not"
                    )
            total = sum(choice.mirror_traffic.values())
            if total > MAX_MIRROR:
                yield env.document.problem(
                    ("endpoints", name, "mirror_traffic"), f"mirrors {total} %; Azure allows at most {MAX_MIRROR} %"
                )


def vm_sizes(repo: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """Instance types and cluster sizes are real Azure sizes; online ones are offered for endpoints."""
    for deployment in _deployment_files(repo):
        size = deployment.deployment.instance_type
        if size:
            yield from _online_size(deployment.document, ("instance_type",), size)
    for env in environments:
        for endpoint, name, choice in _choices(env):
            if choice.instance_type:
                where: FieldPath = ("endpoints", endpoint, "deployments", name, "instance_type")
                yield from _online_size(env.document, where, choice.instance_type)
        infrastructure = env.environment.infrastructure
        for index, cluster in enumerate(infrastructure.clusters if infrastructure else []):
            if vm_size(cluster.vm_size) is None:
                yield env.document.problem(
                    ("infrastructure", "clusters", index, "vm_size"),
                    f"unknown VM size {cluster.vm_size!r}{suggest(cluster.vm_size)}",
                )


def _online_size(document: Document, field: FieldPath, name: str) -> Iterator[Problem]:
    size = vm_size(name)
    if size is None:
        yield document.problem(field, f"unknown instance type {name!r}{suggest(name)}")
    elif not size.online:
        yield document.problem(field, f"{size.name} is not offered for managed online deployments")


def pinned_references(repo: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """Staging and prod name exact versions: no `@latest`, `latest`, or untagged/`:latest` images."""
    for env in environments:
        if env.environment.name not in PINNED_ENVIRONMENTS:
            continue
        where = env.environment.name
        for endpoint, deployment, choice in _choices(env):
            ref = parse_model_ref(choice.model)
            if ref is not None and ref.floating:
                field = ("endpoints", endpoint, "deployments", deployment, "model")
                yield env.document.problem(field, f"{choice.model!r} floats; {where} needs a pinned version")
            file = repo.endpoints.get(endpoint)
            spec = file.deployments.get(deployment) if file else None
            if spec is not None:
                yield from _floating_in_deployment(spec, where)


def _floating_in_deployment(spec: DeploymentFile, where: str) -> Iterator[Problem]:
    raw = spec.document.data
    environment = raw.get("environment")
    if isinstance(environment, str) and ("@latest" in environment or environment.endswith(":latest")):
        yield spec.document.problem(("environment",), f"{environment!r} floats; {where} needs a pinned version")
    image = environment.get("image") if isinstance(environment, dict) else None
    if isinstance(image, str) and (image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]):
        yield spec.document.problem(("environment", "image"), f"{image!r} floats; {where} needs a pinned image tag")


def local_paths(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """Local artifact, code and conda paths exist and stay inside the repository."""
    for model in repo.models.values():
        raw = model.document.data.get("path")
        if isinstance(raw, str) and model.artifact is not None:
            yield from _inside(repo.root, model.document, ("path",), raw)
    for deployment in _deployment_files(repo):
        raw = deployment.document.data
        code = (raw.get("code_configuration") or {}).get("code") if isinstance(raw.get("code_configuration"), dict) else None
        if isinstance(code, str) and not code.startswith("azureml:"):
            yield from _inside(repo.root, deployment.document, ("code_configuration", "code"), code)
        environment = raw.get("environment")
        conda = environment.get("conda_file") if isinstance(environment, dict) else None
        if isinstance(conda, str):
            yield from _inside(repo.root, deployment.document, ("environment", "conda_file"), conda)
        build = environment.get("build") if isinstance(environment, dict) else None
        if isinstance(build, dict) and isinstance(build.get("path"), str):
            yield from _inside(repo.root, deployment.document, ("environment", "build", "path"), build["path"])
        model = raw.get("model")
        if isinstance(model, dict) and isinstance(model.get("path"), str):
            yield from _inside(repo.root, deployment.document, ("model", "path"), model["path"])


def _inside(root: Path, document: Document, field: FieldPath, raw: str) -> Iterator[Problem]:
    """The path exists inside the repository, and so does whatever a symbolic link under it points to:
    the SDK uploads a link's target, so a link out of the repository would upload a file from outside."""
    if "://" in raw:
        return
    top = root.resolve()
    target = (root / document.path).parent.joinpath(raw).resolve()
    if not target.is_relative_to(top):
        yield document.problem(field, f"{raw!r} points outside the repository")
    elif not target.exists():
        yield document.problem(field, f"{raw!r} does not exist")
    elif target.is_dir():
        for link in _escaping_links(target, top):
            shown = link.relative_to(top).as_posix()
            yield document.problem(field, f"{shown} is a symbolic link to {link.resolve()}, outside the repository")


def training_paths(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """Code, conda files, build contexts and data paths of what trains exist and stay inside the repository."""
    for document in training_documents(repo, with_assets=True):
        for field, raw in local_paths_of(document.data):
            yield from _inside(repo.root, document, field, raw)


def _escaping_links(folder: Path, top: Path) -> Iterator[Path]:
    """Symbolic links under `folder` (not followed) whose target lies outside `top`."""
    for parent, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            path = Path(parent) / name
            if path.is_symlink() and not path.resolve().is_relative_to(top):
                yield path


def outbound_rules(_: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """Managed-network outbound rules complete enough for Azure to create.

    A private-endpoint rule names its target resource by ARM id and the sub-resource (group id) to
    connect to; Azure refuses one without (learn.microsoft.com/azure/machine-learning/how-to-managed-network).
    """
    for env in environments:
        network = env.environment.infrastructure.network if env.environment.infrastructure else None
        for index, rule in enumerate(network.outbound_rules if network else []):
            field = ("infrastructure", "network", "outbound_rules", index)
            if rule.type == "private_endpoint" and not rule.subresource:
                yield env.document.problem(
                    field, f"private_endpoint rule {rule.name!r} needs subresource: (e.g. amlregistry, blob, vault)"
                )
            if rule.type == "private_endpoint" and not ARM_ID.match(rule.destination):
                yield env.document.problem(
                    field + ("destination",), f"{rule.destination!r} is not a resource id (/subscriptions/.../providers/...)"
                )
            if rule.type != "private_endpoint" and rule.subresource:
                yield env.document.problem(field + ("subresource",), "only private_endpoint rules have a subresource")


def _deployment_files(repo: Repository) -> Iterator[DeploymentFile]:
    for folder in repo.endpoints.values():
        yield from folder.deployments.values()


def _choices(env: EnvironmentFile) -> Iterator[tuple[str, str, Any]]:
    for endpoint, choice in env.environment.endpoints.items():
        if isinstance(choice, EndpointChoice):
            for deployment, chosen in choice.deployments.items():
                yield endpoint, deployment, chosen


RULES: dict[str, Rule] = {
    "endpoint-names": endpoint_names,
    "deployment-names": deployment_names,
    "model-names": model_names,
    "environment-endpoints": environment_endpoints,
    "model-references": model_references,
    "serverless-models": serverless_models,
    "traffic": traffic,
    "mirror-traffic": mirror_traffic,
    "vm-sizes": vm_sizes,
    "pinned-references": pinned_references,
    "local-paths": local_paths,
    "outbound-rules": outbound_rules,
    "asset-references": asset_references,
    "pipeline-bindings": pipeline_bindings,
    "command-bindings": command_bindings,
    "environment-jobs": environment_jobs,
    "retrained-models": retrained_models,
    "distillation-compute": distillation_compute,
    "training-paths": training_paths,
    "flow-models": flow_models,
    "flow-deployments": flow_deployments,
    "evaluation-references": evaluation_references,
    "schedule-files": schedule_files,
    "environment-schedules": environment_schedules,
    "autoscale-instances": autoscale_instances,
    "mltable-files": mltable_files,
}


def check(repo: Repository, environments: list[EnvironmentFile] | None = None) -> list[Problem]:
    """Run every rule; `environments` narrows the per-environment rules (all by default)."""
    scope = list(repo.environments.values()) if environments is None else environments
    return sorted({problem for rule in RULES.values() for problem in rule(repo, scope)})
