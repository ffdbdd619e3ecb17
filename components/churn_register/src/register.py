"""Hand the model on for registration only if evaluation passed; otherwise fail the step, and so the pipeline."""

import argparse
import json
import shutil
import sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--report", required=True)
parser.add_argument("--registered", required=True)
args = parser.parse_args()

report = json.loads((Path(args.report) / "metrics.json").read_text())
if not report["passed"]:
    sys.exit(f"accuracy {report['accuracy']} is below {report['min_accuracy']}: the candidate is not registered")
shutil.copytree(args.model, args.registered, dirs_exist_ok=True)
shutil.copy(Path(args.report) / "metrics.json", Path(args.registered) / "metrics.json")
print(f"registering the candidate: accuracy {report['accuracy']}")
