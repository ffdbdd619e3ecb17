"""Registries (promotion between environments) and MLflow models served without a scoring script."""

from __future__ import annotations

import json
import pickle

import pytest
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, Model

pytestmark = pytest.mark.slow


def test_registry_models_and_promotion(local) -> None:
    ws = local.client()
    reg = local.client(registry=local.conn.registry_name)
    created = reg.models.create_or_update(Model(name="churn", version="1", path=str(local.model_dir()), type="custom_model"))
    assert created.version == "1"
    assert reg.models.get("churn", "1").name == "churn"
    assert [m.version for m in reg.models.list("churn")] == ["1"]

    # promotion: a workspace model shared into the registry (bytes copied), then deployed by registry id
    ws.models.create_or_update(Model(name="churn-ws", path=str(local.model_dir(factor=5)), type="custom_model"))
    local.client().models.share(
        "churn-ws", "1", share_with_name="churn", share_with_version="2", registry_name=local.conn.registry_name
    )
    reg = local.client(registry=local.conn.registry_name)
    assert sorted(m.version for m in reg.models.list("churn")) == ["1", "2"]

    ws = local.client("staging")
    ws.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="promoted")).result()
    model_id = f"azureml://registries/{local.conn.registry_name}/models/churn/versions/2"
    ws.online_deployments.begin_create_or_update(local.deployment("promoted", "main", model_id)).result()
    request = local.request_file({"data": [1]})
    answer = json.loads(ws.online_endpoints.invoke("promoted", request_file=str(request), deployment_name="main"))
    assert answer == {"y": [5], "who": "main"}
    ws.online_endpoints.begin_delete("promoted").result()


def test_mlflow_sklearn_model_without_scoring_script(local, tmp_path) -> None:
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path / "credit" / "v1"
    folder.mkdir(parents=True)
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
    (folder / "model.pkl").write_bytes(pickle.dumps(LogisticRegression().fit(x, [0, 1, 0, 1])))
    (folder / "conda.yaml").write_text(
        f"dependencies:\n- python=3.7\n- pip\n- pip:\n  - scikit-learn=={sklearn.__version__}\n"
        f"  - numpy=={np.__version__}\nname: credit\n"
    )
    (folder / "MLmodel").write_text(
        "flavors:\n  python_function:\n    env:\n      conda: conda.yaml\n    loader_module: mlflow.sklearn\n"
        "    model_path: model.pkl\n  sklearn:\n    pickled_model: model.pkl\n    serialization_format: pickle\n"
        'signature:\n  inputs: \'[{"name": "a", "type": "double"}, {"name": "b", "type": "double"}]\'\n'
    )
    ml = local.client()
    model = ml.models.create_or_update(Model(name="credit", path=str(folder), type="mlflow_model"))
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="credit")).result()
    ml.online_deployments.begin_create_or_update(
        ManagedOnlineDeployment(
            name="main", endpoint_name="credit", model=model.id, instance_type="Standard_DS3_v2", instance_count=1
        )
    ).result()
    for payload in (
        {"input_data": {"columns": ["b", "a"], "data": [[1.0, 0.0], [0.0, 1.0]]}},
        {"input_data": [[0.0, 1.0], [1.0, 0.0]]},
    ):
        answer = ml.online_endpoints.invoke("credit", request_file=str(local.request_file(payload)), deployment_name="main")
        assert json.loads(answer) == [0, 1]
    logs = ml.online_deployments.get_logs("main", "credit", lines=500)
    assert "dropped conda dependency 'python=3.7'" in logs
    ml.online_endpoints.begin_delete("credit").result()
