"""Split the customer table into train and test sets (stdlib only: the churn serving environment's)."""

import argparse
import csv
import random
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--raw", required=True, help="folder with customers.csv")
parser.add_argument("--test-share", type=float, required=True)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--train", required=True)
parser.add_argument("--test", required=True)
args = parser.parse_args()

with (Path(args.raw) / "customers.csv").open() as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
random.Random(args.seed).shuffle(body)
cut = int(len(body) * (1 - args.test_share))
for folder, part in ((args.train, body[:cut]), (args.test, body[cut:])):
    Path(folder).mkdir(parents=True, exist_ok=True)
    with (Path(folder) / "data.csv").open("w", newline="") as f:
        csv.writer(f).writerows([header, *part])
print(f"prepared {cut} training and {len(body) - cut} test rows")
