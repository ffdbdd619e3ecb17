"""Batch endpoints on the local control plane, driven by the unmodified azure-ai-ml SDK: a model deployment
with a scoring script run over mini-batches of files, and an MLflow model scoring CSV rows, each invoked,
waited for and downloaded as Azure's predictions.csv. Environments are image-only (the control plane's
own Python, which has scikit-learn for the sample MLflow model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.ai.ml import Input
from azure.ai.ml.entities import (
    AmlCompute,
    BatchEndpoint,
    CodeConfiguration,
    Environment,
    Model,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
)
from azure.core.exceptions import HttpResponseError

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2]
IMAGE_ONLY = Environment(image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest")
SCORE = """
import glob, json, os
factor = None

def init():
    global factor
    [weights] = glob.glob(os.path.join(os.environ["AZUREML_MODEL_DIR"], "*", "weights.json"))
    factor = json.load(open(weights))["factor"]

def run(mini_batch):
    print("mini batch of", len(mini_batch))
    return [f"{os.path.basename(p)} {json.load(open(p))['x'] * factor} {len(mini_batch)}" for p in mini_batch]
"""


@pytest.fixture(scope="module")
def ml(local):
    client = local.client()
    client.compute.begin_create_or_update(AmlCompute(name="batch-cpu", size="STANDARD_DS3_V2", max_instances=1)).result()
    return client


def _endpoint(ml, name: str, deployment: ModelBatchDeployment) -> None:
    endpoint = ml.batch_endpoints.begin_create_or_update(BatchEndpoint(name=name)).result()
    ml.batch_deployments.begin_create_or_update(deployment).result()
    endpoint.defaults.deployment_name = deployment.name
    ml.batch_endpoints.begin_create_or_update(endpoint).result()


def test_a_batch_invocation_runs_the_scoring_script_over_mini_batches(local, ml, tmp_path) -> None:
    model = ml.models.create_or_update(Model(name="batch-factor", path=str(local.model_dir("factor", 3)), type="custom_model"))
    code = local.code_dir(SCORE, name="batch-score")
    deployment = ModelBatchDeployment(
        name="main",
        endpoint_name="factor-batch",
        model=model,
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        environment=IMAGE_ONLY,
        compute="batch-cpu",
        settings=ModelBatchDeploymentSettings(mini_batch_size=2),
    )
    _endpoint(ml, "factor-batch", deployment)
    data = tmp_path / "files"
    data.mkdir()
    for i in range(5):
        (data / f"in-{i}.json").write_text(json.dumps({"x": i}))

    job = ml.batch_endpoints.invoke(endpoint_name="factor-batch", input=Input(type="uri_folder", path=str(data)))
    ml.jobs.stream(job.name)
    assert ml.jobs.get(job.name).status == "Completed"
    ml.jobs.download(job.name, download_path=tmp_path / "out")
    lines = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert lines == ["in-0.json 0 2", "in-1.json 3 2", "in-2.json 6 2", "in-3.json 9 2", "in-4.json 12 1"]


def test_an_mlflow_batch_deployment_predicts_csv_rows(ml, tmp_path) -> None:
    model = ml.models.create_or_update(
        Model(name="batch-credit", path=str(SAMPLE / "models" / "credit-risk" / "v1"), type="mlflow_model")
    )
    deployment = ModelBatchDeployment(
        name="main", endpoint_name="credit-batch", model=model, environment=IMAGE_ONLY, compute="batch-cpu"
    )
    _endpoint(ml, "credit-batch", deployment)
    request = json.loads((SAMPLE / "endpoints" / "credit-risk" / "sample-request.json").read_text())["input_data"]
    data = tmp_path / "applications"
    data.mkdir()
    rows = "\n".join(",".join(str(v) for v in row) for row in request["data"])
    (data / "loans.csv").write_text(",".join(request["columns"]) + "\n" + rows + "\n")

    job = ml.batch_endpoints.invoke(endpoint_name="credit-batch", input=Input(type="uri_folder", path=str(data)))
    ml.jobs.stream(job.name)
    ml.jobs.download(job.name, download_path=tmp_path / "out")
    lines = [line.split(",") for line in (tmp_path / "out" / "predictions.csv").read_text().splitlines()]
    assert [line[:2] for line in lines] == [["loans.csv", "0"], ["loans.csv", "1"]]
    assert all(json.loads(line[2]) in (0, 1) for line in lines)


def test_a_batch_deployment_on_an_unknown_cluster_is_refused(local, ml) -> None:
    ml.batch_endpoints.begin_create_or_update(BatchEndpoint(name="nowhere-batch")).result()
    model = ml.models.create_or_update(Model(name="batch-factor", path=str(local.model_dir("factor", 3)), type="custom_model"))
    code = local.code_dir(SCORE, name="batch-score")
    deployment = ModelBatchDeployment(
        name="main",
        endpoint_name="nowhere-batch",
        model=model,
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        environment=IMAGE_ONLY,
        compute="gpu-nowhere",
    )
    with pytest.raises(HttpResponseError, match="Compute 'gpu-nowhere' does not exist"):
        ml.batch_deployments.begin_create_or_update(deployment).result()


def test_a_pipeline_component_deployment_runs_its_pipeline_on_the_inputs(local, ml, tmp_path) -> None:
    from azure.ai.ml import Output, command, dsl
    from azure.ai.ml.entities import PipelineComponentBatchDeployment

    code = local.assets / "count-code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "count.py").write_text(
        "import os, sys\nos.makedirs(sys.argv[2], exist_ok=True)\n"
        "open(os.path.join(sys.argv[2], 'n.txt'), 'w').write(str(len(os.listdir(sys.argv[1]))))\n"
    )
    count = command(
        name="count",
        code=str(code),
        command="python count.py ${{inputs.data}} ${{outputs.out}}",
        environment=IMAGE_ONLY,
        inputs={"data": Input(type="uri_folder")},
        outputs={"out": Output(type="uri_folder")},
    )

    def counting(data):
        return {"result": count(data=data).outputs.out}

    counting.__annotations__ = {"data": Input(type="uri_folder")}  # the SDK reads the type from the annotation
    component = ml.components.create_or_update(dsl.pipeline()(counting), name="counting", version="1")
    endpoint = ml.batch_endpoints.begin_create_or_update(BatchEndpoint(name="count-batch")).result()
    deployment = PipelineComponentBatchDeployment(
        name="main", endpoint_name="count-batch", component=component, settings={"default_compute": "batch-cpu"}
    )
    ml.batch_deployments.begin_create_or_update(deployment).result()
    endpoint.defaults.deployment_name = "main"
    ml.batch_endpoints.begin_create_or_update(endpoint).result()
    data = tmp_path / "files"
    data.mkdir()
    for i in range(3):
        (data / f"f{i}.txt").write_text(str(i))

    job = ml.batch_endpoints.invoke(endpoint_name="count-batch", inputs={"data": Input(type="uri_folder", path=str(data))})
    ml.jobs.stream(job.name)
    ml.jobs.download(job.name, download_path=tmp_path / "out", output_name="result")
    assert (tmp_path / "out" / "named-outputs" / "result" / "n.txt").read_text() == "3"
