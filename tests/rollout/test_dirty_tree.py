"""What apply records is a commit that builds the release: uncommitted changes are refused in CI, warned
about elsewhere and recorded as `<sha>+dirty`, and a rollback to such a release says why it cannot be."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sample_support import SAMPLE_FOLDERS
from test_apply_memory import run

from amlops.rollout.apply import Refused
from amlops.rollout.rollback import rollback
from amlops.rollout.session import Session, checked_commit, load_release
from amlops.state import record
from amlops.state.record import Previous
from amlops.workspace.memory import MemoryWorkspace

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for folder in SAMPLE_FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "samples"]):
        subprocess.run(["git", *command], cwd=tmp_path, check=True, env={**env, "PATH": "/usr/bin:/bin"})
    return tmp_path


def head(root: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def test_a_clean_tree_records_its_commit(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    said: list[str] = []
    assert checked_commit(repo, lambda event: said.append(event.detail)) == head(repo) and said == []


def test_uncommitted_changes_are_refused_in_ci(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "endpoints/churn/main.yml").write_text((repo / "endpoints/churn/main.yml").read_text() + "\n")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Refused, match=f"uncommitted changes on top of {head(repo)[:12]}: in CI, apply only a commit"):
        checked_commit(repo, lambda _event: None)


def test_uncommitted_changes_are_warned_about_and_recorded_as_such(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "endpoints/churn/new.txt").write_text("untracked\n")
    monkeypatch.delenv("CI", raising=False)
    said: list[str] = []
    assert checked_commit(repo, lambda event: said.append(event.detail)) == f"{head(repo)}+dirty"
    assert said == [
        f"warning: uncommitted changes on top of {head(repo)[:12]}: recorded as {head(repo)[:12]}+dirty, "
        "which no rollback can rebuild"
    ]


def test_a_rollback_to_a_release_applied_from_uncommitted_changes_is_refused_clearly(repo: Path) -> None:
    workspace = MemoryWorkspace("dev")
    sample = load_release(repo, "dev")
    run(workspace, sample)
    e = workspace.endpoints["churn"]
    previous = Previous("0123456789abcdef", f"{head(repo)}+dirty").encode()
    e.spec = type(e.spec)(**{**e.spec.__dict__, "tags": {**e.spec.tags, record.PREVIOUS: previous}})
    session = Session(sample[0], sample[1], workspace)
    with pytest.raises(ValueError, match="applied from uncommitted changes on top of .*: no commit builds it"):
        rollback(session, "churn", lambda _event: None)
