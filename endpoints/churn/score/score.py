"""Scoring script for the churn model: a logistic regression kept as JSON weights (stdlib only)."""

import json
import logging
import math
import os

weights = None


def init():
    """Called once when the deployment starts: load the weights from the registered model folder."""
    global weights
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    candidates = [os.path.join(model_dir, "weights.json"), os.path.join(model_dir, "v1", "weights.json")]
    for root, _, files in os.walk(model_dir):
        if "weights.json" in files:
            candidates.append(os.path.join(root, "weights.json"))
    path = next(p for p in candidates if os.path.isfile(p))
    with open(path) as f:
        weights = json.load(f)
    logging.info("churn model loaded from %s", path)


def run(raw_data):
    """`{"data": [[tenure_months, monthly_charges, support_calls], ...]}` -> churn probabilities."""
    rows = json.loads(raw_data)["data"]
    out = []
    for row in rows:
        z = weights["intercept"] + sum(c * x for c, x in zip(weights["coefficients"], row))
        out.append(round(1.0 / (1.0 + math.exp(-z)), 6))
    return {"probabilities": out}
