"""Train the two sample models and write their artifacts: `python models/build.py`.

The artifacts are committed because a released model version never changes: they are the released
bytes, and this script is their provenance. Run it only to make a *new* version (change VERSION),
never to rewrite an existing one; `amlops apply` refuses different content under a released version.

- credit-risk: a scikit-learn logistic regression in MLflow format (MLmodel, model.pkl, conda.yaml),
  written without MLflow itself, the way `mlflow.sklearn.save_model` lays it out. Azure ML serves
  MLflow models without a scoring script.
- churn: a custom model, the same kind of classifier exported as plain JSON weights, served by
  `endpoints/churn/score/score.py`.
"""

from __future__ import annotations

import argparse
import json
import pickle
import platform
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

HERE = Path(__file__).resolve().parent
CREDIT_FEATURES = ["income", "debt_ratio", "age", "late_payments"]
CHURN_FEATURES = ["tenure_months", "monthly_charges", "support_calls"]


def _data(features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, features))
    weights = np.linspace(1.5, -1.0, features)
    y = (x @ weights + rng.normal(scale=0.5, size=400) > 0).astype(int)
    return x.round(4), y


def build_credit_risk(version: str) -> Path:
    x, y = _data(len(CREDIT_FEATURES), seed=7)
    model = LogisticRegression(max_iter=200).fit(x, y)
    out = HERE / "credit-risk" / f"v{version}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.pkl").write_bytes(pickle.dumps(model, protocol=4))
    python = platform.python_version()
    (out / "conda.yaml").write_text(
        "channels:\n- conda-forge\ndependencies:\n"
        f"- python={python}\n- pip\n- pip:\n  - mlflow-skinny\n  - scikit-learn=={sklearn.__version__}\n"
        f"  - numpy=={np.__version__}\n  - pandas\nname: credit-risk-env\n"
    )
    inputs = json.dumps([{"name": n, "type": "double"} for n in CREDIT_FEATURES])
    (out / "MLmodel").write_text(
        "artifact_path: model\nflavors:\n  python_function:\n    env:\n      conda: conda.yaml\n"
        "    loader_module: mlflow.sklearn\n    model_path: model.pkl\n    predict_fn: predict\n"
        f"    python_version: {python}\n  sklearn:\n    pickled_model: model.pkl\n"
        f"    serialization_format: pickle\n    sklearn_version: {sklearn.__version__}\n"
        "mlflow_version: 2.17.0\nmodel_uuid: 6f1c1b0e4c7e4a3f9b1d2a7e5c3b9a01\n"
        f"signature:\n  inputs: '{inputs}'\n"
        '  outputs: \'[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]\'\n'
    )
    return out


def build_churn(version: str) -> Path:
    x, y = _data(len(CHURN_FEATURES), seed=11)
    model = LogisticRegression(max_iter=200).fit(x, y)
    out = HERE / "churn" / f"v{version}"
    out.mkdir(parents=True, exist_ok=True)
    weights = {
        "features": CHURN_FEATURES,
        "coefficients": [round(float(c), 6) for c in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 6),
    }
    (out / "weights.json").write_text(json.dumps(weights, indent=2) + "\n")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1", help="the new model version to write")
    args = parser.parse_args()
    for built in (build_credit_risk(args.version), build_churn(args.version)):
        print(f"wrote {built.relative_to(HERE.parent)}")
