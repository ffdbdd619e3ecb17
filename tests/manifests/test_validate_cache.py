"""An unchanged repository is validated once: the verdict is kept, keyed on every file's stat, the `--env`
and the schema libraries, and read back without azure-ai-ml; any change to a file validates again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sample_support import copy_sample, edit

from amlops.manifests.cache import Verdict, cached
from amlops.manifests.errors import Problem

PROBLEM = Problem("environments/dev.yaml", 3, 1, "endpoints", "a problem")


def settled(root: Path) -> Path:
    """Every file under `root` last modified a minute ago, as a checkout is by the time anyone validates it."""
    old = time.time() - 60
    for path in [root, *root.rglob("*")]:
        os.utime(path, (old, old), follow_symlinks=False)
    return root


class Counting:
    def __init__(self, verdict: Verdict) -> None:
        self.verdict, self.calls = verdict, 0

    def __call__(self) -> Verdict:
        self.calls += 1
        return self.verdict


def test_an_unchanged_repository_is_answered_from_the_kept_verdict(tmp_path: Path) -> None:
    root = settled(copy_sample(tmp_path / "repo"))
    compute = Counting(Verdict([PROBLEM], []))
    first = cached(root, None, compute, tmp_path / "cache")
    again = cached(root, None, compute, tmp_path / "cache")
    assert compute.calls == 1
    assert first == again == Verdict([PROBLEM], [])


def test_a_change_to_any_file_the_env_or_a_removed_file_validates_again(tmp_path: Path) -> None:
    root = settled(copy_sample(tmp_path / "repo"))
    compute = Counting(Verdict([], []))
    cached(root, None, compute, tmp_path / "cache")
    cached(root, "dev", compute, tmp_path / "cache")
    assert compute.calls == 2  # each environment its own verdict
    score = root / "endpoints" / "churn" / "score" / "score.py"  # not a manifest, but a file a deployment names
    score.write_text(score.read_text() + "\n")
    settled(root)
    cached(root, None, compute, tmp_path / "cache")
    assert compute.calls == 3
    score.unlink()
    cached(root, None, compute, tmp_path / "cache")
    assert compute.calls == 4


def test_a_file_changed_just_now_is_not_trusted_to_its_timestamp(tmp_path: Path) -> None:
    """Two writes within one timestamp tick look the same to stat: a verdict made while a file is that fresh
    is not kept (git's racily clean entries), so the second write is always validated."""
    root = settled(copy_sample(tmp_path / "repo"))
    edit(root / "environments" / "dev.yaml", "endpoints:", "endpoints:  ")
    compute = Counting(Verdict([], []))
    cached(root, None, compute, tmp_path / "cache")
    cached(root, None, compute, tmp_path / "cache")
    assert compute.calls == 2
    assert not list((tmp_path / "cache").glob("*.json"))


def test_an_unreadable_verdict_is_computed_again(tmp_path: Path) -> None:
    root = settled(copy_sample(tmp_path / "repo"))
    compute = Counting(Verdict([], [PROBLEM]))
    cached(root, None, compute, tmp_path / "cache")
    (kept,) = (tmp_path / "cache").glob("*.json")
    for broken in ('{"problems": [', '{"problems": [{"path": 1}], "warnings": []}'):  # cut short; another shape
        kept.write_text(broken)
        assert cached(root, None, compute, tmp_path / "cache") == Verdict([], [PROBLEM])
    assert compute.calls == 3


def run_validate(root: Path, env: dict[str, str], *args: str) -> tuple[int, str, bool]:
    """(exit code, output, whether azure-ai-ml was imported) of `amlops validate` in a fresh interpreter."""
    probe = (
        "import sys\nfrom amlops.cli.main import app\ncode = 0\ntry:\n"
        f"    app(['validate', '--repo', {str(root)!r}, '--format', 'json', *{list(args)!r}])\n"
        "except SystemExit as e:\n    code = e.code or 0\n"
        "print('azure.ai.ml' in sys.modules, code)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    *output, last = done.stdout.splitlines()
    imported, code = last.split()
    return int(code), "\n".join(output), imported == "True"


def test_the_command_answers_a_second_time_without_the_sdk_and_the_same_problems(
    tmp_path: Path, shell_env: dict[str, str]
) -> None:
    root = copy_sample(tmp_path / "repo")
    edit(root / "environments" / "dev.yaml", "model: churn:1", "model: churn:404")
    settled(root)
    first = run_validate(root, shell_env)
    again = run_validate(root, shell_env)
    assert first[0] == again[0] == 1
    assert json.loads(first[1])["problems"] and first[1] == again[1]
    assert (first[2], again[2]) == (True, False)
    assert run_validate(root, shell_env, "--no-cache")[2]
