"""Git, the one module that runs it: HEAD and its cleanliness, changed paths, files at a commit, and
commits onto a new branch without touching the work tree.

A commit is built with plumbing in a throwaway index and the branch is created last, atomically
(`update-ref` with an all-zero old value), so a failure anywhere leaves the repository as it was,
and whatever branch the user has checked out is never switched or modified.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

_ZERO = "0" * 40
#: Marks a recorded commit whose work tree had uncommitted changes: no commit builds what was applied.
DIRTY = "+dirty"


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


def commit_of(root: Path) -> str | None:
    """HEAD of the repository at `root`, marked `+dirty` when its work tree has uncommitted changes there;
    None outside a git repository."""
    try:
        sha = head(root)
        dirty = git(root, "status", "--porcelain", "--", ".")
    except (OSError, GitError):
        return None
    return f"{sha}{DIRTY}" if dirty.strip() else sha


def changed_paths(root: Path, base: str) -> list[str] | None:
    """Paths changed between `base` and HEAD, or None when `base` is no commit here (a new branch)."""
    try:
        return git(root, "diff", "--name-only", "--no-renames", base, "HEAD").splitlines()
    except GitError:
        return None


def show(root: Path, revision: str, path: str) -> str | None:
    """The text of `path` at `revision`, or None where it does not exist."""
    try:
        return git(root, "show", f"{revision}:{path}")
    except GitError:
        return None


def extract(root: Path, commit: str, into: Path, paths: tuple[str, ...] = ()) -> Path:
    """The repository's files at `commit` (all, or those under `paths`) under `into`, without touching the
    work tree; returns the folder that corresponds to `root` (a repository may sit in a subfolder of its
    git work tree)."""
    try:
        prefix = git(root, "rev-parse", "--show-prefix")
        command = ["git", "archive", "--format=tar", commit, "--", *paths]
        archive = subprocess.run(command, cwd=root, capture_output=True, check=True)
    except (GitError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr.decode().strip() if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        raise GitError(f"cannot read commit {commit[:12]} ({detail}): check out with full history (fetch-depth: 0)") from exc
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / prefix
