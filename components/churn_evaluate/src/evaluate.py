"""Score the trained weights on the test set; write the accuracy, and whether it clears the bar."""

import argparse
import csv
import json
import math
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--test", required=True)
parser.add_argument("--min-accuracy", type=float, required=True)
parser.add_argument("--report", required=True)
args = parser.parse_args()

weights = json.loads((Path(args.model) / "weights.json").read_text())
with (Path(args.test) / "data.csv").open() as f:
    body = list(csv.reader(f))[1:]
correct = 0
for row in body:
    z = weights["intercept"] + sum(c * float(v) for c, v in zip(weights["coefficients"], row[:-1], strict=True))
    correct += int((1 / (1 + math.exp(-z)) > 0.5) == bool(int(row[-1])))
accuracy = correct / len(body)
report = {"accuracy": round(accuracy, 4), "test_rows": len(body), "min_accuracy": args.min_accuracy}
report["passed"] = accuracy >= args.min_accuracy
Path(args.report).mkdir(parents=True, exist_ok=True)
(Path(args.report) / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
print(
    f"accuracy {accuracy:.3f} on {len(body)} test rows (bar: {args.min_accuracy}): {'passed' if report['passed'] else 'failed'}"
)
