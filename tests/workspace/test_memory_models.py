"""The in-memory workspace refuses a deployment of a model it does not have, as Azure does (and the local control
plane: a 404 for the deployment's model, `local/arm/deployments.py`): in the workspace, or in a registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from amlops.workspace.interface import DeploymentSpec, EndpointSpec
from amlops.workspace.memory import MemoryWorkspace, Refused


def deploy(workspace: MemoryWorkspace, model: str) -> None:
    workspace.begin_deployment(DeploymentSpec("churn", "main-1", Path("endpoints/churn/main.yml"), model, "Standard_DS3_v2", 1))


@pytest.fixture
def workspace() -> MemoryWorkspace:
    workspace = MemoryWorkspace()
    workspace.put_endpoint(EndpointSpec("churn", Path("endpoints/churn/endpoint.yml"), {}, {}, {}))
    return workspace


def test_a_workspace_model_must_be_registered(workspace: MemoryWorkspace) -> None:
    with pytest.raises(Refused, match="model churn:1 not found"):
        deploy(workspace, "azureml:churn:1")
    workspace.models[("churn", "1")] = {}
    deploy(workspace, "azureml:churn:1")


def test_a_registry_model_must_be_in_that_registry(workspace: MemoryWorkspace) -> None:
    shared = "azureml://registries/shared/models/churn/versions/1"
    workspace.models[("churn", "1")] = {}  # in the workspace, not yet shared
    with pytest.raises(Refused, match="model churn:1 not found in registry shared"):
        deploy(workspace, shared)
    workspace.registry("shared").share("churn", "1")
    deploy(workspace, shared)


def test_what_is_not_a_model_asset_id_is_refused(workspace: MemoryWorkspace) -> None:
    with pytest.raises(Refused, match="not a model asset id"):
        deploy(workspace, "churn:1")
