"""`amlops validate`'s verdicts, kept on disk and keyed on everything they depend on.

Validating means importing azure-ai-ml, whose loaders are the schema of endpoint, deployment and
model files: over a second before the first file is read. A verdict depends only on the
repository's files, the `--env` asked for, amlops's own code and the versions of the libraries that
hold the schemas, so an unchanged repository is answered from here without that import, as ruff
and mypy answer from their caches.

Files are known by their stat (path, type, size, modification time), as git's index knows them.
A file modified so recently that a second change could share its timestamp makes the verdict
unsafe to keep (git's "racily clean" entries): nothing is stored until every file is older than
:data:`SETTLE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import amlops
from amlops.manifests.errors import Problem

FORMAT = 1  # bumped when what a verdict holds changes
SCHEMA_LIBRARIES = ("azure-ai-ml", "marshmallow", "pydantic", "jsonschema", "ruamel.yaml", "PyYAML")
# Folders that hold no manifest and nothing a manifest may name: tools' own state and caches.
SKIPPED = frozenset({".git", ".venv", ".state", "__pycache__", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"})
SETTLE_SECONDS = 2.0
KEPT = 32  # verdicts kept; the oldest beyond them are removed


@dataclass(frozen=True)
class Verdict:
    """What `amlops validate` reports: problems fail it, warnings do not."""

    problems: list[Problem]
    warnings: list[Problem]


def default_directory() -> Path:
    return Path(os.environ.get("AMLOPS_VALIDATE_CACHE") or Path.home() / ".cache" / "amlops" / "validate").expanduser()


def cached(root: Path, environment: str | None, compute: Callable[[], Verdict], directory: Path | None = None) -> Verdict:
    """The verdict for `root` and `environment`: read from `directory` when nothing it depends on has changed,
    else computed and kept. A cache that cannot be read or written is the same as an empty one."""
    directory = directory or default_directory()
    started = time.time()
    key, newest = _key(root.resolve(), environment)
    file = directory / f"{key}.json"
    try:
        raw = json.loads(file.read_text())
        return Verdict([Problem(**p) for p in raw["problems"]], [Problem(**w) for w in raw["warnings"]])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    verdict = compute()
    if newest < started - SETTLE_SECONDS:
        _keep(directory, file, verdict)
    return verdict


def _keep(directory: Path, file: Path, verdict: Verdict) -> None:
    body = json.dumps({"problems": [asdict(p) for p in verdict.problems], "warnings": [asdict(w) for w in verdict.warnings]})
    try:
        directory.mkdir(parents=True, exist_ok=True)
        partial = file.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(body)
        os.replace(partial, file)  # a reader sees the whole verdict or none
        for stale in sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[KEPT:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


def _key(root: Path, environment: str | None) -> tuple[str, float]:
    """(hash of every input, newest modification time among the files)."""
    digest = hashlib.sha256(json.dumps([FORMAT, str(root), environment, _versions()]).encode())
    newest = 0.0
    code = Path(amlops.__file__).resolve().parent
    walked = code.is_relative_to(root) and not SKIPPED.intersection(code.relative_to(root).parts)
    for base in (root,) if walked else (root, code):  # an editable install's code is in the repository's walk
        for entry in _files(base):
            digest.update(entry[0].encode())
            newest = max(newest, entry[1])
    return digest.hexdigest()[:32], newest


def _versions() -> list[str]:
    found = []
    for name in SCHEMA_LIBRARIES:
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} absent")
    return found


def _files(base: Path) -> Iterator[tuple[str, float]]:
    """(a line naming one file and its stat, its modification time), for every file under `base`, in order."""
    pending = [base]
    while pending:
        folder = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIPPED:
                    pending.append(Path(entry.path))
                continue
            stat = entry.stat(follow_symlinks=False)
            target = os.readlink(entry.path) if entry.is_symlink() else ""
            line = f"{entry.path}\0{stat.st_mode}\0{stat.st_size}\0{stat.st_mtime_ns}\0{target}\n"
            yield line, stat.st_mtime
