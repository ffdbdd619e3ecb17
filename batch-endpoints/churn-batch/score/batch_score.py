"""Batch scoring for churn: each CSV file of customers in, one `file,row,probability` line per customer out."""

import csv
import json
import math
import os
from pathlib import Path

weights = None


def init():
    global weights
    found = next(Path(os.environ["AZUREML_MODEL_DIR"]).rglob("weights.json"))
    weights = json.loads(found.read_text())


def run(mini_batch):
    out = []
    for path in mini_batch:
        with open(path) as f:
            rows = list(csv.reader(f))[1:]
        for number, row in enumerate(rows, start=1):
            z = weights["intercept"] + sum(
                c * float(v) for c, v in zip(weights["coefficients"], row[: len(weights["coefficients"])], strict=True)
            )
            out.append(f"{Path(path).name},{number},{1 / (1 + math.exp(-z)):.6f}")
    return out
