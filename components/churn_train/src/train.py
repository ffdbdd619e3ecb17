"""Fit a logistic regression by gradient descent and write it as the JSON weights the churn endpoint serves.

Stdlib only, so the job runs in the churn endpoint's own environment (endpoints/churn/environment):
the model is three coefficients and an intercept, the format endpoints/churn/score/score.py reads.
"""

import argparse
import csv
import json
import math
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--train", required=True)
parser.add_argument("--epochs", type=int, required=True)
parser.add_argument("--learning-rate", type=float, required=True)
parser.add_argument("--model", required=True)
args = parser.parse_args()

with (Path(args.train) / "data.csv").open() as f:
    rows = list(csv.reader(f))
features, body = rows[0][:-1], rows[1:]
x = [[float(v) for v in row[:-1]] for row in body]
y = [int(row[-1]) for row in body]
coefficients, intercept = [0.0] * len(features), 0.0
for epoch in range(args.epochs):
    grad, grad_b, loss = [0.0] * len(features), 0.0, 0.0
    for xi, yi in zip(x, y, strict=True):
        p = 1 / (1 + math.exp(-(intercept + sum(c * v for c, v in zip(coefficients, xi, strict=True)))))
        loss -= math.log(max(p if yi else 1 - p, 1e-12))
        grad = [g + (p - yi) * v for g, v in zip(grad, xi, strict=True)]
        grad_b += p - yi
    coefficients = [c - args.learning_rate * g / len(x) for c, g in zip(coefficients, grad, strict=True)]
    intercept -= args.learning_rate * grad_b / len(x)
    if epoch % 50 == 0 or epoch == args.epochs - 1:
        print(f"epoch {epoch}: log loss {loss / len(x):.4f}", flush=True)
Path(args.model).mkdir(parents=True, exist_ok=True)
weights = {"features": features, "coefficients": [round(c, 6) for c in coefficients], "intercept": round(intercept, 6)}
(Path(args.model) / "weights.json").write_text(json.dumps(weights, indent=2) + "\n")
print(f"trained on {len(x)} rows: {weights}")
