"""The git edge of promotion: read HEAD, and commit files onto a new branch without touching the work tree.

The commit is built with plumbing in a throwaway index and the branch is created last, atomically
(`update-ref` with an all-zero old value), so a failure anywhere leaves the repository as it was,
and whatever branch the user has checked out is never switched or modified.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

_ZERO = "0" * 40


class GitError(Exception):
    pass


def git(root: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=root, input=input, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.rstrip("\n")


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD")


def uncommitted(root: Path, paths: list[str]) -> list[str]:
    """Paths under `paths` whose work-tree content differs from HEAD (untracked files included)."""
    out = git(root, "status", "--porcelain", "-z", "--no-renames", "--untracked-files=all", "--", *paths)
    return [entry[3:] for entry in out.split("\0") if entry]


def branch_exists(root: Path, branch: str) -> bool:
    return subprocess.run(["git", "show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=root).returncode == 0


def commit_on_branch(root: Path, branch: str, files: dict[str, str], message: str) -> str:
    """Commit `files` (path -> text) on top of HEAD as the new branch `branch`; return the commit."""
    parent = head(root)
    with tempfile.TemporaryDirectory() as scratch:
        index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        git(root, "read-tree", parent, env=index)
        for path, text in files.items():
            blob = git(root, "hash-object", "-w", "--stdin", input=text)
            git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
        tree = git(root, "write-tree", env=index)
    commit = git(root, "commit-tree", tree, "-p", parent, "-m", message)
    git(root, "update-ref", f"refs/heads/{branch}", commit, _ZERO)
    return commit


def author(root: Path) -> str:
    """`Name <email>` of the git identity that will sign the commit."""
    return git(root, "var", "GIT_AUTHOR_IDENT").rsplit(" ", 2)[0]
