"""`amlops import`: Microsoft's azureml-examples folders brought in with no edit, valid, and served locally.

The first test and the served one's `apply` and `invoke` run `amlops` as a child process, as a user does; the
others run the same CLI in this process (`amlops_in_process`)."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sample_support import copy_sample

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("AMLOPS_CORPUS", REPO.parent / "shared" / "corpus" / "azureml-examples"))
ONLINE = CORPUS / "endpoints" / "online"
#: The scoring script of azureml-examples' model-1, which the corpus snapshot leaves out: the same
#: contract (init, run, AZUREML_MODEL_DIR), so the sample's deployment files name an existing folder.
SCORE = """import json, os, joblib
def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model/sklearn_regression_model.pkl"))
def run(raw_data):
    return model.predict(json.loads(raw_data)["data"]).tolist()
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if not ONLINE.is_dir():
        pytest.fail(f"the azureml-examples corpus is missing at {CORPUS} (set AMLOPS_CORPUS)")
    return copy_sample(tmp_path / "repo")


def amlops(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "amlops", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def test_ncd_is_imported_unchanged_and_validates(repo: Path, shell_env: dict[str, str]) -> None:
    result = amlops("import", str(ONLINE / "ncd"), cwd=repo, env=shell_env)
    assert result.returncode == 0, result.stdout + result.stderr
    imported = repo / "endpoints" / "my-endpoint"
    assert filecmp.cmp(imported / "endpoint.yml", ONLINE / "ncd" / "create-endpoint.yaml", shallow=False)
    for name in ("sklearn-deployment.yaml", "lightgbm-deployment.yaml", "sample-request-sklearn.json"):
        assert filecmp.cmp(imported / name, ONLINE / "ncd" / name, shallow=False), name
    assert not filecmp.dircmp(imported / "sklearn-diabetes" / "model", ONLINE / "ncd" / "sklearn-diabetes" / "model").diff_files
    assert "not imported: sklearn-deployment-with-script.yaml: names sklearn-diabetes/src, which does not exist" in result.stderr
    model = (repo / "models" / "mir-sample-sklearn-ncd-model" / "v2.yml").read_text()
    assert "type: mlflow_model\npath: ../../endpoints/my-endpoint/sklearn-diabetes/model\n" in model
    local = (repo / "environments" / "local.yaml").read_text()
    assert (
        "  my-endpoint:\n    deployments:\n      lightgbm-deployment:\n        model: mir-sample-lightgbm-ncd-model:3\n" in local
    )
    after = local.splitlines(keepends=True)
    start = after.index("  my-endpoint:\n")
    end = next(i for i in range(start + 1, len(after)) if not after[i].startswith("    "))
    before = (REPO / "environments" / "local.yaml").read_text()
    assert "".join(after[:start] + after[end:]) == before  # the rest of the file as it was: only the entry added
    validated = amlops("validate", cwd=repo, env=shell_env)
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_the_managed_sample_keeps_its_paths_to_model_1(repo: Path, amlops_in_process, tmp_path: Path) -> None:
    corpus = tmp_path / "examples" / "endpoints" / "online"
    for part in ("managed/sample", "model-1", "model-2"):
        shutil.copytree(ONLINE / part, corpus / part)
    for model in ("model-1", "model-2"):
        (corpus / model / "onlinescoring").mkdir()
        (corpus / model / "onlinescoring" / "score.py").write_text(SCORE)
    result = amlops_in_process("import", str(corpus / "managed" / "sample"), "--deployment", "blue", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert filecmp.cmp(
        repo / "endpoints" / "my-endpoint" / "blue-deployment.yml", corpus / "managed" / "sample" / "blue-deployment.yml"
    )
    # `../../model-1/...` from endpoints/my-endpoint/ is <repo>/model-1/: copied there, so the file needs no edit
    assert (repo / "model-1" / "onlinescoring" / "score.py").is_file() and (
        repo / "model-1" / "environment" / "conda.yaml"
    ).is_file()
    assert "blue-deployment-with-curated-env.yml: deployment 'blue' is already imported from blue-deployment.yml" in result.stderr
    validated = amlops_in_process("validate", "--env", "local", cwd=repo)
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_a_folder_that_cannot_work_is_refused_and_nothing_is_written(repo: Path, amlops_in_process) -> None:
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    local = (repo / "environments" / "local.yaml").read_text()
    result = amlops_in_process("import", str(ONLINE / "managed" / "sample"), cwd=repo)
    assert result.returncode == 1
    assert "import refused, nothing was written" in result.stderr
    assert "blue-deployment.yml: names ../../model-1/onlinescoring/, which does not exist" in result.stderr
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before
    assert (repo / "environments" / "local.yaml").read_text() == local


def test_an_import_that_does_not_validate_is_undone(repo: Path, amlops_in_process, tmp_path: Path) -> None:
    folder = tmp_path / "ncd"
    shutil.copytree(ONLINE / "ncd", folder)
    deployment = folder / "sklearn-deployment.yaml"
    deployment.write_text(deployment.read_text().replace("Standard_DS3_v2", "Standard_DS999_v9"))
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    local = (repo / "environments" / "local.yaml").read_text()
    result = amlops_in_process("import", str(folder), cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "endpoints/my-endpoint/sklearn-deployment.yaml:" in result.stderr and "Standard_DS999_v9" in result.stderr
    assert "the imported files do not validate, nothing was written" in result.stderr
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before
    assert (repo / "environments" / "local.yaml").read_text() == local


@pytest.mark.slow
def test_an_imported_ncd_deployment_is_served_by_apply_env_local(
    repo: Path, shell_env: dict[str, str], amlops_in_process, tmp_path: Path
) -> None:
    """The README's first run, with Microsoft's no-code MLflow deployment imported: it builds, passes its smoke test, answers."""
    for command in (
        ("init", "-q", "-b", "main"),
        ("add", "-A"),
        ("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "base"),
    ):
        subprocess.run(["git", "-C", str(repo), *command], check=True, capture_output=True)
    shell_env["AMLOPS_LOCAL_STATE_DIR"] = str(tmp_path / "state")
    imported = amlops_in_process("import", str(ONLINE / "ncd"), "--deployment", "sklearn-deployment", cwd=repo)
    assert imported.returncode == 0, imported.stderr
    for command in (("add", "-A"), ("-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "import ncd")):
        subprocess.run(["git", "-C", str(repo), *command], check=True, capture_output=True)  # applied from a commit, as in CI
    try:
        applied = amlops("apply", "--env", "local", "--auto-approve", cwd=repo, env=shell_env)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "my-endpoint smoke test" in applied.stderr and "my-endpoint done" in applied.stderr
        answer = amlops("invoke", "my-endpoint", "--env", "local", cwd=repo, env=shell_env)
        assert answer.returncode == 0, answer.stderr
        assert len(eval(answer.stdout)) == 2  # two rows in sample-request-sklearn.json, two predictions  # noqa: S307
    finally:
        amlops_in_process("local", "down", cwd=repo, env={"AMLOPS_LOCAL_STATE_DIR": shell_env["AMLOPS_LOCAL_STATE_DIR"]})
