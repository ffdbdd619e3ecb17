"""Score two JSON-weights churn models on the same held-out rows; write both models' metrics (stdlib only)."""

import argparse
import csv
import json
import math
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--candidate", required=True)
parser.add_argument("--live", required=True)
parser.add_argument("--data", required=True)
parser.add_argument("--metrics", required=True)
args = parser.parse_args()

with next(Path(args.data).glob("*.csv")).open() as f:
    rows = list(csv.reader(f))[1:]


def metrics(model: str) -> dict:
    weights = json.loads((Path(model) / "weights.json").read_text())
    correct, loss = 0, 0.0
    for row in rows:
        z = weights["intercept"] + sum(c * float(v) for c, v in zip(weights["coefficients"], row[:-1], strict=True))
        p, label = 1 / (1 + math.exp(-z)), int(row[-1])
        correct += int((p > 0.5) == bool(label))
        loss -= math.log(min(max(p if label else 1 - p, 1e-12), 1.0))
    return {"accuracy": round(correct / len(rows), 4), "log_loss": round(loss / len(rows), 4)}


report = {"candidate": metrics(args.candidate), "live": metrics(args.live), "rows": len(rows)}
Path(args.metrics).mkdir(parents=True, exist_ok=True)
(Path(args.metrics) / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
print(f"candidate {report['candidate']}, live {report['live']} on {len(rows)} held-out rows")
