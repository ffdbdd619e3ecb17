"""Plan and apply of what trains, against the in-memory workspace: asset versions once, clusters on local,
batch endpoints blue/green, catalog jobs refused on local."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_support import copy_sample, edit
from training_support import apply_all, session

from amlops.manifests.repository import AssetKind
from amlops.rollout.apply import Refused
from amlops.state import record
from amlops.workspace.memory import MemoryWorkspace
from amlops.workspace.memory import Refused as AzureRefused


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_sample(tmp_path)


def test_first_plan_registers_assets_in_dependency_order_creates_clusters_and_the_batch_endpoint(root: Path):
    plan = session(root, MemoryWorkspace("local")).plan()
    assert [(a.kind.value, a.name, a.version) for a in plan.assets] == [
        ("environment", "churn-train", "1"),
        ("data", "churn-customers", "1"),
        ("data", "churn-holdout", "1"),  # the held-out data of churn's evaluation
        ("component", "churn_compare", "1"),
        ("component", "churn_evaluate", "1"),
        ("component", "churn_prepare", "1"),
        ("component", "churn_register", "2"),
        ("component", "churn_train", "1"),
    ]
    assert [c for c in plan.clusters] == [session(root, MemoryWorkspace()).training.clusters[0].azure_name]  # type: ignore[union-attr]
    [batch] = plan.batch
    assert batch.create and batch.add == (batch.default[1],) and batch.default[0] is None
    assert plan.conflicts == ()


def test_apply_registers_each_version_once_with_lineage_and_a_second_apply_changes_nothing(root: Path):
    workspace = MemoryWorkspace("local")
    result = apply_all(root, workspace)
    assert result.ok, result.failures
    tags = workspace.asset_tags(AssetKind.component, "churn_train", "1")
    assert tags is not None and tags[record.MANIFEST] == "components/churn_train/component.yml"
    assert tags[record.ENVIRONMENT] == "local" and len(tags[record.CONTENT_HASH]) == 64
    live = workspace.batch_endpoint("churn-batch")
    assert live is not None and live.default in live.deployments
    writes = list(workspace.writes)
    again = session(root, workspace).plan()
    assert (again.assets, again.clusters, again.batch, again.changed) == ((), (), (), False)
    assert apply_all(root, workspace).ok
    assert workspace.writes == writes  # identical content again: nothing written


def test_different_content_under_a_registered_version_is_refused_before_any_write(root: Path):
    workspace = MemoryWorkspace("local")
    assert apply_all(root, workspace).ok
    edit(root / "components/churn_train/src/train.py", "round(c, 6)", "round(c, 5)")
    plan = session(root, workspace).plan()
    [conflict] = plan.conflicts
    assert conflict.startswith("component churn_train:1 is registered with content ")
    assert "components/churn_train/component.yml has content" in conflict and "immutable" in conflict
    writes = len(workspace.writes)
    with pytest.raises(Refused):
        apply_all(root, workspace)
    assert len(workspace.writes) == writes


def test_catalog_fine_tuning_is_refused_on_local_at_plan_with_its_reason(root: Path):
    local = root / "environments/local.yaml"
    edit(local, "    max_nodes: 2\n", "    max_nodes: 2\n  - name: gpu\n    vm_size: Standard_NC4as_T4_v3\n    max_nodes: 1\n")
    edit(local, "  - churn-retrain\n", "  - churn-retrain\n  - phi3-finetune\n")
    plan = session(root, MemoryWorkspace("local")).plan()
    assert any(
        c.startswith("job phi3-finetune (finetuning) cannot run on local")
        and "weights are in the azureml registry, which the local control plane cannot reach offline" in c
        for c in plan.conflicts
    ), plan.conflicts


def test_catalog_jobs_plan_in_azure_environments(root: Path):
    plan = session(root, MemoryWorkspace("dev"), "dev").plan()
    assert plan.conflicts == ()
    assert {a.name for a in plan.assets} >= {"phi3-chat-train", "phi3-chat-validation"}
    assert plan.clusters == ()  # Pulumi creates Azure's clusters


def test_changed_batch_spec_is_a_new_deployment_then_the_default_switches_then_the_old_is_deleted(root: Path):
    workspace = MemoryWorkspace("local")
    assert apply_all(root, workspace).ok
    before = workspace.batch_endpoint("churn-batch")
    assert before is not None
    edit(root / "batch-endpoints/churn-batch/main.yml", "mini_batch_size: 10", "mini_batch_size: 20")
    [change] = session(root, workspace).plan().batch
    assert not change.create and change.default[0] == before.default and change.retire == (before.default,)
    assert change.add == (change.default[1],) and change.default[1] != before.default
    workspace.writes.clear()
    assert apply_all(root, workspace).ok
    after = workspace.batch_endpoint("churn-batch")
    assert after is not None and after.default == change.default[1] and list(after.deployments) == [change.default[1]]
    new, old = change.default[1], before.default
    assert workspace.writes == [
        f"put batch deployment churn-batch/{new}",
        "put batch endpoint churn-batch",
        f"delete batch deployment churn-batch/{old}",
    ]


def test_the_twin_refuses_what_azure_refuses():
    workspace = MemoryWorkspace("local")
    from amlops.workspace.interface import AssetSpec, BatchEndpointSpec

    spec = AssetSpec(AssetKind.data, "d", "1", Path("assets/data/d.yml"))
    workspace.register_asset(spec)
    with pytest.raises(AzureRefused, match="immutable"):
        workspace.register_asset(spec)
    workspace.put_batch_endpoint(BatchEndpointSpec("b", None, None))
    with pytest.raises(AzureRefused, match="does not exist"):
        workspace.put_batch_endpoint(BatchEndpointSpec("b", None, "ghost"))


PIPELINE_COMPONENT = """$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
type: pipeline
name: churn_retrain
version: "1"
inputs:
  customers:
    type: uri_folder
outputs:
  model:
    type: custom_model
jobs:
  prepare:
    type: command
    component: azureml:churn_prepare:1
    inputs:
      raw: ${{parent.inputs.customers}}
  train:
    type: command
    component: azureml:churn_train:1
    inputs:
      train: ${{parent.jobs.prepare.outputs.train}}
    outputs:
      model: ${{parent.outputs.model}}
"""
PIPELINE_DEPLOYMENT = """$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponentBatchDeployment.schema.json
name: retrain
type: pipeline
component: azureml:churn_retrain:1
settings:
  default_compute: azureml:cpu
"""


def test_a_pipeline_component_batch_deployment_registers_its_component_and_runs_on_the_clusters_azure_name(root: Path):
    (root / "components/churn_retrain").mkdir()
    (root / "components/churn_retrain/component.yml").write_text(PIPELINE_COMPONENT)
    (root / "batch-endpoints/churn-batch/retrain.yml").write_text(PIPELINE_DEPLOYMENT)
    edit(root / "environments/local.yaml", "deployments: [main]", "deployments: [main, retrain]\n    default: main")
    workspace = MemoryWorkspace("local")
    s = session(root, workspace)
    assert s.training is not None
    retrain = s.training.batch["churn-batch"].deployments["retrain"]
    assert retrain.kind == "pipeline" and retrain.compute == "cpu"
    plan = s.plan()
    assert ("component", "churn_retrain") in [(a.kind.value, a.name) for a in plan.assets]
    assert plan.assets[-1].name == "churn_retrain"  # after the components it names: Azure resolves them at registration
    [batch] = plan.batch
    assert set(batch.add) == {retrain.azure_name, s.training.batch["churn-batch"].default_azure}
    assert apply_all(root, workspace).ok
    live = workspace.batch_endpoint("churn-batch")
    assert live is not None and retrain.azure_name in live.deployments
    assert live.default == s.training.batch["churn-batch"].default_azure


def test_a_pipeline_component_batch_deployment_on_an_undeclared_cluster_is_refused(root: Path):
    (root / "components/churn_retrain").mkdir()
    (root / "components/churn_retrain/component.yml").write_text(PIPELINE_COMPONENT)
    (root / "batch-endpoints/churn-batch/retrain.yml").write_text(PIPELINE_DEPLOYMENT.replace("azureml:cpu", "azureml:gpu"))
    edit(root / "environments/local.yaml", "deployments: [main]", "deployments: [main, retrain]\n    default: main")
    from amlops.manifests import validate_repository

    _, problems = validate_repository(root, "local")
    assert [str(p) for p in problems] == [
        "batch-endpoints/churn-batch/retrain.yml:6:3: settings.default_compute: local declares no cluster 'gpu' (it has: cpu; or use serverless)"
    ]
