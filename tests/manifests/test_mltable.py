"""MLTable files at validate: the documented shapes pass; a wrong one is one problem at its line and field.

The documented shapes are those of Microsoft's MLTable reference (reference-yaml-mltable: the quickstart,
delimited text, Parquet, Delta Lake and JSON lines examples), written into the sample's baseline asset.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_support import copy_sample, edit

from amlops.manifests.load import validate_repository

MLTABLE = "assets/data/churn-baseline/MLTable"
DOCUMENTED = {
    "quickstart": "$schema: https://azuremlschemas.azureedge.net/latest/MLTable.schema.json\ntype: mltable\npaths:\n"
    "    - file: https://azuremlexamples.blob.core.windows.net/datasets/iris.csv\ntransformations:\n    - read_delimited:\n"
    "        delimiter: ','\n        header: all_files_same_headers\n        include_path_column: true\n",
    "delimited": "type: mltable\npaths:\n  - file: ./inputs.csv\ntransformations:\n  - read_delimited:\n      encoding: ascii\n"
    "      header: all_files_same_headers\n      delimiter: ','\n      include_path_column: true\n      empty_as_string: false\n"
    "  - keep_columns: [col1, col2]\n  - convert_column_types:\n      - columns: col1\n        column_type: int\n"
    "      - columns: col2\n        column_type:\n          datetime:\n            formats: ['%d/%m/%Y']\n"
    "      - columns: [col1, col2]\n        column_type:\n          boolean:\n            mismatch_as: error\n"
    "            true_values: ['yes']\n            false_values: ['no']\n"
    "  - filter: 'col(\"col1\") > 32'\n  - extract_columns_from_partition_format: {timestamp:yyyy/MM/dd}\n  - skip: 10\n"
    "  - take_random_sample:\n      probability: 0.50\n      seed: 1394\n",
    "parquet": "type: mltable\npaths:\n  - pattern: ./*.parquet\ntransformations:\n  - read_parquet:\n"
    "      include_path_column: false\n  - skip: 1000\n",
    "delta": "type: mltable\npaths:\n- folder: ./delta/\ntransformations:\n - read_delta_lake:\n      timestamp_as_of: '2022-08-26T00:00:00Z'\n",
    "json-lines": "paths:\n  - file: ./order_invalid.jsonl\ntransformations:\n  - read_json_lines:\n"
    "      encoding: utf8\n      invalid_lines: drop\n      include_path_column: false\n",
    "bare-read": "type: mltable\npaths:\n  - file: ./data.parquet\ntransformations:\n  - read_parquet\n",
}


@pytest.mark.parametrize("body", DOCUMENTED.values(), ids=DOCUMENTED.keys())
def test_the_documented_shapes_validate(tmp_path: Path, body: str):
    root = copy_sample(tmp_path)
    (root / MLTABLE).write_text(body)
    _, problems = validate_repository(root, "local")
    assert problems == []


CASES = [
    ("transformation", "all_files_same_headers", "all_files_same_headers\n  - sort_by: tenure", "transformations[1]", 7),
    ("header", "header: all_files_same_headers", "header: first_line", "transformations[0].read_delimited.header", 6),
    (
        "encoding",
        "all_files_same_headers",
        "all_files_same_headers\n      encoding: utf-8",
        "transformations[0].read_delimited.encoding",
        7,
    ),
    ("two-kinds", "  - file: ./inputs.csv", "  - file: ./inputs.csv\n    folder: ./", "paths[0]", 2),
    ("type", "paths:", "type: table\npaths:", "type", 1),
    ("no-paths", "paths:\n  - file: ./inputs.csv\n", "", "(file)", 1),
]


@pytest.mark.parametrize(("old", "new", "field", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_wrong_mltable_is_one_problem_at_its_line(tmp_path: Path, old: str, new: str, field: str, line: int):
    root = copy_sample(tmp_path)
    edit(root / MLTABLE, old, new)
    _, problems = validate_repository(root, "local")
    assert [(p.path, p.field or "(file)", p.line) for p in problems] == [(MLTABLE, field, line)], problems


def test_an_mltable_asset_without_its_file_is_refused_at_its_path(tmp_path: Path):
    root = copy_sample(tmp_path)
    (root / MLTABLE).unlink()
    _, problems = validate_repository(root, "local")
    assert [(p.path, p.field) for p in problems] == [("assets/data/churn-baseline.yml", "path")]
    assert "holds no MLTable file" in problems[0].message
