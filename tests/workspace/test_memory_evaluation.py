"""The in-memory twin refuses a comparison run naming a model version the workspace (or registry) lacks, as Azure does.

Azure resolves a job's `azureml:` inputs when the job is created and answers 400 UserError for one naming no asset;
so does the local control plane (`local/arm/jobs.py`). A twin that accepted it would let a loop test pass on a run
that Azure never starts.
"""

from __future__ import annotations

import pytest

from amlops.manifests.repository import AssetKind
from amlops.workspace.interface import ComponentJobSpec
from amlops.workspace.memory import MemoryWorkspace
from amlops.workspace.memory_training import Refused

SHARED = "azureml://registries/shared/models/churn/versions/2"


def comparison(candidate: str) -> ComponentJobSpec:
    inputs = {
        "candidate": ("custom_model", candidate),
        "live": ("custom_model", "azureml:churn:1"),
        "data": ("uri_folder", "azureml:churn-holdout:1"),
    }
    return ComponentJobSpec("amlops-eval-churn-1", "azureml:churn_compare:1", inputs, "serverless", "amlops-evaluation-churn")


def workspace() -> MemoryWorkspace:
    """The component and data asset registered, and churn:1 (in the registry too): all the comparison names but its
    candidate."""
    found = MemoryWorkspace("test")
    found.assets[(AssetKind.component, "churn_compare", "1")] = {}
    found.assets[(AssetKind.data, "churn-holdout", "1")] = {}
    found.models[("churn", "1")] = {}
    found.registry("shared").models[("churn", "1")] = {}
    return found


@pytest.mark.parametrize("candidate", ["azureml:churn:2", SHARED])
def test_a_run_naming_an_unregistered_model_is_refused_and_nothing_is_written(candidate: str) -> None:
    twin = workspace()
    with pytest.raises(Refused, match=rf"inputs\.candidate: model {candidate} is not registered"):
        twin.submit_component(comparison(candidate))
    assert twin.jobs == {} and twin.writes == []


def test_a_run_naming_registered_models_in_the_workspace_or_the_registry_is_submitted() -> None:
    twin = workspace()
    twin.models[("churn", "2")] = {}
    assert twin.submit_component(comparison("azureml:churn:2")).name == "amlops-eval-churn-1"
    other = workspace()
    other.registry("shared").models[("churn", "2")] = {}
    assert other.submit_component(comparison(SHARED)).status
