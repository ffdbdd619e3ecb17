"""amlops validate: a job's `amlops.retrains` tag names a model, and one unnamed uri_folder output holds it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_support import copy_sample, edit

from amlops.manifests import validate_repository

JOB = "jobs/churn-retrain.yml"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_sample(tmp_path_factory.mktemp("repo"))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("amlops.retrains: churn", "amlops.retrains: chrun", "tags.amlops.retrains: no model 'chrun' in models/"),
        ("candidate:\n    type: uri_folder", "candidate:\n    type: custom_model", "outputs.candidate.type: 'custom_model': the"),
        (
            "candidate:\n    type: uri_folder",
            "candidate:\n    type: uri_folder\n    name: x",
            "outputs.candidate.name: Azure registers",
        ),
        ("outputs:\n  candidate:", "outputs:\n  report:\n    type: uri_folder\n  candidate:", "the job needs exactly one output"),
    ],
    ids=["unknown model", "model-typed output", "named output", "two outputs"],
)
def test_each_problem_names_the_file_line_and_field(sample: Path, tmp_path: Path, old: str, new: str, expected: str) -> None:
    root = copy_sample(tmp_path / "repo")
    edit(root / JOB, old, new)
    _, problems = validate_repository(root)
    [problem] = [str(p) for p in problems if p.path == JOB]
    assert problem.startswith(f"{JOB}:") and expected in problem, problem


def test_the_sample_job_is_clean(sample: Path) -> None:
    _, problems = validate_repository(sample)
    assert problems == []
