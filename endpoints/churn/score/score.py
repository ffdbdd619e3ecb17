"""Scoring script for the churn model: a logistic regression kept as JSON weights.

It logs each request's inputs and outputs with Azure ML's data collector (azureml-ai-monitoring), as
Microsoft's "Collect production data from models deployed for real-time inferencing" shows: collections
`model_inputs` and `model_outputs`, which the deployment file's `data_collector` enables. Where a deployment
does not enable them, collecting only logs that it is off.
"""

import json
import logging
import math
import os

import pandas as pd
from azureml.ai.monitoring import Collector

weights = None
inputs_collector = None
outputs_collector = None


def init():
    """Called once when the deployment starts: load the weights from the registered model folder."""
    global weights, inputs_collector, outputs_collector
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    candidates = [os.path.join(model_dir, "weights.json"), os.path.join(model_dir, "v1", "weights.json")]
    for root, _, files in os.walk(model_dir):
        if "weights.json" in files:
            candidates.append(os.path.join(root, "weights.json"))
    path = next(p for p in candidates if os.path.isfile(p))
    with open(path) as f:
        weights = json.load(f)
    logging.info("churn model loaded from %s", path)
    inputs_collector = Collector(name="model_inputs", on_error=lambda e: logging.info("data collection: %s", e))
    outputs_collector = Collector(name="model_outputs", on_error=lambda e: logging.info("data collection: %s", e))


def run(raw_data):
    """`{"data": [[tenure_months, monthly_charges, support_calls], ...]}` -> churn probabilities."""
    rows = json.loads(raw_data)["data"]
    inputs = pd.DataFrame(rows, columns=weights["features"])
    context = inputs_collector.collect(inputs)  # its correlation id ties these inputs to their outputs
    out = []
    for row in rows:
        z = weights["intercept"] + sum(c * x for c, x in zip(weights["coefficients"], row))
        out.append(round(1.0 / (1.0 + math.exp(-z)), 6))
    outputs_collector.collect(pd.DataFrame({"probability": out}), context)
    return {"probabilities": out}
