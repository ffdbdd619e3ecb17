"""Prompt flows deployed as models (Azure's flow-as-model path, azureml-examples
cli/generative-ai/promptflow/deploy-flow): the rules their model and deployment files must keep.

A flow model is a custom model whose `path` is a flow folder (flow.dag.yaml and its code) and whose
properties carry `azureml.promptflow.source_flow_id`. A flow deployment runs the prompt flow runtime image,
which needs an inference_config (liveness, readiness, scoring routes: deploying a flow is "bring your own
container") and no scoring script: the flow is the code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from azure.ai.ml import load_component
from azure.ai.ml.entities import Component

from amlops.manifests.environment import EndpointChoice, Platform
from amlops.manifests.errors import Problem
from amlops.manifests.references import parse_model_ref
from amlops.manifests.repository import EnvironmentFile, ModelFile, Repository

SOURCE_FLOW_PROPERTY = "azureml.promptflow.source_flow_id"
RUNTIME_IMAGE = "mcr.microsoft.com/azureml/promptflow/promptflow-runtime"
FLOW_FILE = "flow.dag.yaml"
ROUTES = ("liveness_route", "readiness_route", "scoring_route")
#: The local control plane serves flows only when started with this (amlops.local.promptflow says why).
LOCAL_SWITCH = "AMLOPS_LOCAL_PROMPTFLOW=1"


def is_flow_model(model: ModelFile) -> bool:
    return SOURCE_FLOW_PROPERTY in (model.model.properties or {})


def flow_models(repo: Repository, _: list[EnvironmentFile]) -> Iterator[Problem]:
    """A flow model's path is a flow folder that azure-ai-ml loads as a flow, with the code its nodes name."""
    for model in repo.models.values():
        if not is_flow_model(model):
            continue
        folder = model.artifact
        if folder is None or not (folder / FLOW_FILE).is_file():
            yield model.document.problem(("path",), f"a prompt flow model's path is a flow folder, with {FLOW_FILE}")
            continue
        yield from _flow_file(folder / FLOW_FILE, repo.root)


def _flow_file(path: Path, root: Path) -> Iterator[Problem]:
    from amlops.manifests.load import _read_azure  # the loaders import the rules: late, to avoid a cycle

    document, flow, problems = _read_azure(path, root, load_component)
    yield from problems
    if document is None or flow is None:
        return
    if not isinstance(flow, Component) or flow.type != "promptflow_parallel":
        yield document.problem((), f"azure-ai-ml does not load this file as a flow (got {type(flow).__name__})")
    for i, node in enumerate(document.data.get("nodes") or []):
        source = node.get("source") if isinstance(node, dict) else None
        code = source.get("path") if isinstance(source, dict) and source.get("type") == "code" else None
        if code and not (path.parent / str(code)).is_file():
            yield document.problem(("nodes", i, "source", "path"), f"{code!r}: no such file in the flow folder")


def flow_deployments(repo: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """A deployment on the prompt flow runtime image names its routes, has no scoring script, and serves
    a flow model: its own `model`, and the one each environment chooses for it."""
    flows = {model.key: is_flow_model(model) for model in repo.models.values()}
    chosen = _chosen_models(environments)
    for folder in repo.endpoints.values():
        for deployment in folder.deployments.values():
            data = deployment.document.data
            environment = data.get("environment")
            if not isinstance(environment, dict) or not _is_runtime(environment.get("image")):
                continue
            routes = environment.get("inference_config")
            routes = routes if isinstance(routes, dict) else {}
            missing = [r for r in ROUTES if not isinstance(routes.get(r), dict) or not routes[r].get("path")]
            if missing:
                yield deployment.document.problem(
                    ("environment", "inference_config") if routes else ("environment",),
                    f"the prompt flow runtime image needs an inference_config with {', '.join(missing)} (path and port)",
                )
            if data.get("code_configuration"):
                yield deployment.document.problem(
                    ("code_configuration",), "a flow deployment has no scoring script: the flow folder is the code"
                )
            if isinstance(data.get("model"), str) and not _serves_flow(data["model"], flows):
                yield deployment.document.problem(
                    ("model",), f"{data['model']!r} is not a prompt flow model ({SOURCE_FLOW_PROPERTY})"
                )
            for env, ref in chosen.get((folder.name, deployment.name), []):
                if not _serves_flow(ref, flows):
                    yield env.document.problem(
                        ("endpoints", folder.name, "deployments", deployment.name, "model"),
                        f"{ref!r} is not a prompt flow model ({SOURCE_FLOW_PROPERTY}); {deployment.name} runs the prompt flow runtime",
                    )


def _chosen_models(environments: list[EnvironmentFile]) -> dict[tuple[str, str], list[tuple[EnvironmentFile, str]]]:
    chosen: dict[tuple[str, str], list[tuple[EnvironmentFile, str]]] = {}
    for env in environments:
        for endpoint, choice in env.environment.endpoints.items():
            if isinstance(choice, EndpointChoice):
                for name, deployment in choice.deployments.items():
                    chosen.setdefault((endpoint, name), []).append((env, str(deployment.model)))
    return chosen


def _serves_flow(text: str, flows: dict[tuple[str, str], bool]) -> bool:
    """Whether a reference names a flow model. One this repository cannot see (a registry's, a floating
    version, a model not in models/) passes: model-references and the rollout judge those."""
    ref = parse_model_ref(text)
    if ref is None or ref.registry is not None or ref.floating:
        return True
    return flows.get((ref.name, str(ref.version)), True)


def _is_runtime(image: Any) -> bool:
    return isinstance(image, str) and image.split("@")[0].split(":")[0].lower() == RUNTIME_IMAGE


def local_flow_warnings(repo: Repository, environments: list[EnvironmentFile]) -> list[Problem]:
    """Not problems: a local environment that serves a flow needs the control plane's prompt flow extra,
    which a plain `amlops apply --env local` does not start."""
    warnings = []
    for env in environments:
        if env.environment.platform is not Platform.local:
            continue
        for endpoint, choice in env.environment.endpoints.items():
            folder = repo.endpoints.get(endpoint)
            if not isinstance(choice, EndpointChoice) or folder is None:
                continue
            for name in choice.deployments:
                deployment = folder.deployments.get(name)
                environment = deployment.document.data.get("environment") if deployment else None
                if isinstance(environment, dict) and _is_runtime(environment.get("image")):
                    warnings.append(
                        env.document.problem(
                            ("endpoints", endpoint, "deployments", name),
                            f"a prompt flow deployment: the local control plane serves it only when started with {LOCAL_SWITCH}"
                            " (prompt flow is retired by Microsoft: read-only from 2027-04-20)",
                        )
                    )
    return warnings
