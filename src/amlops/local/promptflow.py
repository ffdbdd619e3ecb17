"""Prompt flow deployments: a flow folder registered as a model and deployed on the prompt flow runtime
image, served here by promptflow's own serving app, an optional part of the control plane.

Azure's documented path (azureml-examples cli/generative-ai/promptflow/deploy-flow, and "Deploy a flow
to online endpoint for real-time inference with CLI"): the model is the flow folder with property
`azureml.promptflow.source_flow_id`; the deployment's environment is the image
mcr.microsoft.com/azureml/promptflow/promptflow-runtime with an inference_config (liveness and readiness
on /health, scoring on /score, port 8080), and PROMPTFLOW_RUN_MODE=serving. That image runs promptflow's
Flask app under gunicorn; so does this module, in a virtual environment built with uv, because
promptflow cannot be installed beside amlops (its pins exclude the inference server's).

The runtime is opt-in (`AMLOPS_LOCAL_PROMPTFLOW=1` in the control plane's environment): it downloads
promptflow and its ~100 dependencies, for a feature Microsoft no longer develops.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

RUNTIME_IMAGE = "mcr.microsoft.com/azureml/promptflow/promptflow-runtime"
SOURCE_FLOW_PROPERTY = "azureml.promptflow.source_flow_id"
ENABLE_VARIABLE = "AMLOPS_LOCAL_PROMPTFLOW"
FLOW_FILE = "flow.dag.yaml"
#: What the runtime image carries, as pip requirements: promptflow's serving app and the server it runs in.
RUNTIME_REQUIREMENTS = ("promptflow-devkit==1.18.5", "gunicorn>=23,<28")
#: The serving app promptflow's own `pf flow build --format docker` image starts under gunicorn.
APP = "promptflow.core._serving.app:create_app()"
#: promptflow's settings for a process that must not phone home: no telemetry, no trace service.
PF_SETTINGS = "telemetry:\n  enabled: false\ntrace:\n  destination: none\n"
#: Its Azure Monitor exporter is built even with telemetry off, and then fetches its settings from the
#: internet (and retries for half a minute where there is none) unless told not to.
QUIET = {"APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true", "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true"}


DISABLED = (
    f"This deployment runs a prompt flow (image {RUNTIME_IMAGE}); the local control plane serves flows only"
    f" as an optional extra. Enable it with {ENABLE_VARIABLE}=1 in the control plane's environment (`amlops local"
    f" down`, then `{ENABLE_VARIABLE}=1 amlops apply --env local`): it builds {', '.join(RUNTIME_REQUIREMENTS)}"
    " from your package index in an environment of its own."
)


class FlowError(Exception):
    """A prompt flow deployment that cannot be served here."""


def is_flow_environment(environment: dict[str, Any] | None) -> bool:
    """A deployment runs a flow when its environment is the prompt flow runtime image (Azure starts that
    image's server; the model property only tells the studio's Test tab)."""
    image = str((environment or {}).get("image") or "")
    return image.split(":")[0].split("@")[0].lower() == RUNTIME_IMAGE


def enabled() -> bool:
    return os.environ.get(ENABLE_VARIABLE, "").lower() in ("1", "true", "yes")


def check_flow(environment: dict[str, Any], model: dict[str, Any] | None, model_path: Path | None) -> Path:
    """The flow folder to serve, or why this deployment cannot be served (the message apply shows)."""
    if not enabled():  # a control plane restarted without the extra, bringing back a flow deployment
        raise FlowError(DISABLED)
    routes = environment.get("inferenceConfig") or {}
    missing = [r for r in ("livenessRoute", "readinessRoute", "scoringRoute") if not (routes.get(r) or {}).get("path")]
    if missing:  # Azure: a custom container without a scoring script needs all three routes
        raise FlowError(f"The prompt flow runtime image needs an inference_config with {', '.join(missing)}.")
    if model is None or model_path is None:
        raise FlowError("A prompt flow deployment needs a model: the flow folder registered as a custom model.")
    if SOURCE_FLOW_PROPERTY not in (model["properties"].get("properties") or {}):
        raise FlowError(f"Model {model['id']} is not a flow: it lacks the property {SOURCE_FLOW_PROPERTY}.")
    if not (model_path / FLOW_FILE).is_file():
        raise FlowError(f"Model {model['id']} has no {FLOW_FILE} at the root of its folder.")
    return model_path


def readiness_path(environment: dict[str, Any]) -> str:
    return str(environment["inferenceConfig"]["readinessRoute"]["path"])


def quiet_home(home: Path) -> dict[str, str]:
    """A promptflow home (its settings, run records) at `home`, and the variables that make a process use it
    and stay off the network."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "pf.yaml").write_text(PF_SETTINGS)
    return {"PF_HOME_DIRECTORY": str(home), **QUIET}


def command(env: Path, flow: Path, conf: Path, home: Path) -> tuple[list[str], dict[str, str]]:
    """gunicorn serving the flow at `flow` (the placed copy of the model), and the variables it needs."""
    variables = {"PROMPTFLOW_PROJECT_PATH": str(flow), **quiet_home(home)}
    return [str(env / "bin" / "gunicorn"), "--config", str(conf), "--chdir", str(flow), APP], variables
