"""The sample prompt flow's files, offline: what validation refuses in a flow model or deployment (one
positioned problem each), the release hashing the flow folder like any model's, and what amlops hands the
real azure-ai-ml SDK for the flow's model and deployment (Azure's flow-as-model properties)."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.ai.ml import MLClient
from sample_support import copy_sample, edit
from typer.testing import CliRunner
from workspace.test_whole_specs import Recorder, Token

from amlops.cli.main import app
from amlops.manifests import load_repository
from amlops.manifests.load import validate_repository
from amlops.release import build_release
from amlops.workspace.interface import DeploymentSpec, ModelSpec
from amlops.workspace.sdk import SdkWorkspace

FLOW_ENV = """  ticket-triage:
    deployments:
      main:
        model: ticket-triage:1
        instance_type: Standard_DS3_v2
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The sample, with the local environment serving the flow too."""
    root = copy_sample(tmp_path)
    edit(root / "environments" / "local.yaml", "endpoints:\n", "endpoints:\n" + FLOW_ENV)
    return root


def problems(root: Path) -> list[str]:
    return [str(p) for p in validate_repository(root)[1]]


def test_the_sample_flow_validates(repo: Path):
    assert problems(repo) == []


def test_validate_warns_that_local_serves_a_flow_only_with_the_extra(repo: Path):
    result = CliRunner().invoke(app, ["validate", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert (
        "environments/local.yaml:18:7: endpoints.ticket-triage.deployments.main: a prompt flow deployment: the local"
        " control plane serves it only when started with AMLOPS_LOCAL_PROMPTFLOW=1 (prompt flow is retired by"
        " Microsoft: read-only from 2027-04-20) (warning)"
    ) in result.stderr
    edit(repo / "environments" / "local.yaml", FLOW_ENV, "")
    assert "warning" not in CliRunner().invoke(app, ["validate", "--repo", str(repo)]).stderr


def test_a_flow_model_whose_folder_has_no_flow_file_is_refused_at_its_path(repo: Path):
    (repo / "models" / "ticket-triage" / "v1" / "flow.dag.yaml").unlink()
    assert problems(repo) == [
        "models/ticket-triage/v1.yml:7:1: path: a prompt flow model's path is a flow folder, with flow.dag.yaml"
    ]


def test_a_node_whose_code_is_missing_is_refused_at_its_line(repo: Path):
    edit(repo / "models" / "ticket-triage" / "v1" / "flow.dag.yaml", "path: classify.py", "path: clasify.py")
    assert problems(repo) == [
        "models/ticket-triage/v1/flow.dag.yaml:16:7: nodes[0].source.path: 'clasify.py': no such file in the flow folder"
    ]


def test_a_flow_deployment_needs_its_routes_and_a_flow_model(repo: Path):
    deployment = repo / "endpoints" / "ticket-triage" / "main.yml"
    text = deployment.read_text()
    routes = text[text.index("  inference_config:") : text.index("instance_type:")]
    edit(deployment, routes, "")
    edit(repo / "environments" / "local.yaml", "model: ticket-triage:1", "model: churn:1")
    assert problems(repo) == [
        "endpoints/ticket-triage/main.yml:8:1: environment: the prompt flow runtime image needs an inference_config"
        " with liveness_route, readiness_route, scoring_route (path and port)",
        "environments/local.yaml:19:9: endpoints.ticket-triage.deployments.main.model: 'churn:1' is not a prompt flow"
        " model (azureml.promptflow.source_flow_id); main runs the prompt flow runtime",
    ]


def test_the_release_hashes_the_flow_folder_and_a_change_to_its_code_changes_it(repo: Path):
    def pin_hash() -> str:
        release = build_release(load_repository(repo)[0], "local")
        return release.endpoints["ticket-triage"].deployments["main"].model.content_hash

    before = pin_hash()
    edit(repo / "models" / "ticket-triage" / "v1" / "classify.py", '"timeout"', '"timeout", "time out"')
    assert pin_hash() != before


def test_the_sdk_gets_the_flow_as_a_model_and_its_deployment_on_the_runtime_image(repo: Path, monkeypatch: pytest.MonkeyPatch):
    client = MLClient(Token(), "00000000-0000-0000-0000-000000000000", "rg", "ws")
    models, deployments = Recorder(), Recorder()
    monkeypatch.setattr(client.models, "create_or_update", models)
    monkeypatch.setattr(client.online_deployments, "begin_create_or_update", deployments)
    workspace = SdkWorkspace("local", client, metrics=None, local=True)  # type: ignore[arg-type]
    flow = repo / "models" / "ticket-triage" / "v1"
    workspace.register_model(ModelSpec("ticket-triage", "1", repo / "models" / "ticket-triage" / "v1.yml", flow))
    source = repo / "endpoints" / "ticket-triage" / "main.yml"
    workspace.begin_deployment(
        DeploymentSpec("ticket-triage", "main-0fa447a8", source, "azureml:ticket-triage:1", "Standard_DS3_v2", 1)
    )

    model = models.entities[-1]
    assert model.properties["azureml.promptflow.source_flow_id"] == "ticket-triage"
    assert model.type == "custom_model" and (Path(model.path) / "flow.dag.yaml").is_file()
    deployment = deployments.entities[-1]
    environment = deployment.environment
    assert environment.image.startswith("mcr.microsoft.com/azureml/promptflow/promptflow-runtime:")
    routes = environment.inference_config.as_dict()
    assert {k: v["path"] for k, v in routes.items()} == {
        "livenessRoute": "/health",
        "readinessRoute": "/health",
        "scoringRoute": "/score",
    }
    assert {v["port"] for v in routes.values()} == {8080}
    assert deployment.environment_variables == {"PROMPTFLOW_RUN_MODE": "serving"}
    assert deployment.code_configuration is None and deployment.model == "ticket-triage:1"
