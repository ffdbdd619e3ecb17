"""The manifest cache: a hit gives what loading the files gives, and anything a result depends on misses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from amlops.manifests.load import validate_repository

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AMLOPS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    for folder in ("environments", "models", "endpoints"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def summary(root: Path) -> tuple[list[str], object]:
    """What validate reports and what it read, in a form two runs can be compared by."""
    repository, problems = validate_repository(root)
    read = {
        "models": {k: (f.model, f.document.locate(("version",))) for k, f in repository.models.items()},
        "endpoints": {
            n: (
                f.endpoint,
                f.serverless,
                {d: (x.deployment, x.document.locate(("instance_type",))) for d, x in f.deployments.items()},
            )
            for n, f in repository.endpoints.items()
        },
        "environments": {
            n: (f.environment, f.document.locate(("endpoints", "churn"))) for n, f in repository.environments.items()
        },
    }
    return [str(p) for p in problems], read


def test_a_warm_validate_reads_the_cache_and_never_imports_the_sdk(repo: Path, tmp_path: Path, shell_env: dict[str, str]):
    script = (
        "import sys; from pathlib import Path; from amlops.manifests import validate_repository\n"
        f"_, problems = validate_repository(Path({str(repo)!r}))\n"
        "print(len(problems), 'azure.ai.ml' in sys.modules)\n"
    )
    env = shell_env | {"PYTHONPATH": str(SRC), "AMLOPS_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True) for _ in range(2)]
    assert [(r.returncode, r.stdout.split()) for r in runs] == [(0, ["0", "True"]), (0, ["0", "False"])], runs[0].stderr[-2000:]


def test_a_hit_gives_what_loading_gives_problems_included(repo: Path):
    (repo / "endpoints/churn/main.yml").write_text((repo / "endpoints/churn/main.yml").read_text() + "colour: blue\n")
    cold = summary(repo)
    assert any("colour: unknown key" in p for p in cold[0])
    assert summary(repo) == cold
    cache_files = list((repo.parent / "cache" / "manifests").glob("*.json"))
    assert len(cache_files) == 1 and json.loads(cache_files[0].read_text())


def test_a_changed_file_a_manifest_names_is_loaded_again(repo: Path):
    assert summary(repo)[0] == []
    (repo / "endpoints/churn/environment/conda.yaml").write_text("dependencies: [python=3.11\n")
    problems = summary(repo)[0]
    assert any(p.startswith("endpoints/churn/main.yml:7:1: environment: Error while parsing yaml file") for p in problems)


def test_an_unreadable_cache_is_an_empty_one(repo: Path):
    assert summary(repo)[0] == []
    for path in (repo.parent / "cache" / "manifests").glob("*.json"):
        path.write_text("{not json")
    assert summary(repo)[0] == []
