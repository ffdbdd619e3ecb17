"""What reading each manifest file gave last time, so an unchanged repository validates in a blink.

Parsing a file safely with positions and running azure-ai-ml's loader on it cost milliseconds per
file, and importing the SDK at all costs more than a second; `validate`, `plan` and `apply` read
every file each time. An entry is keyed by everything its result depends on: the file's bytes and
displayed path, for a loader also the SDK's version, the loader, its overrides and the size and
modification time of every path the file names (a conda file, a code folder, a model artifact).
Entries are JSON, never pickles: a cache is data, not code. One file per repository under
`$AMLOPS_CACHE_DIR`, else `$XDG_CACHE_HOME/amlops`, else `~/.cache/amlops`; it keeps only the
entries the last run used, and an unreadable cache is an empty one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from amlops.manifests.errors import Problem
from amlops.manifests.yamlio import Document

#: Bump when what an entry holds, or how a result is computed, changes.
FORMAT = 1


def cache_dir() -> Path:
    explicit = os.environ.get("AMLOPS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "amlops"


def key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps([FORMAT, *parts], sort_keys=True, default=str).encode()).hexdigest()


class FileCache:
    """Entries for one repository: read once when opened, written once by :meth:`save`."""

    def __init__(self, root: Path) -> None:
        digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:24]
        self.path = cache_dir() / "manifests" / f"{digest}.json"
        self._old: dict[str, Any] = {}
        try:
            loaded = json.loads(self.path.read_text())
            if isinstance(loaded, dict):
                self._old = loaded
        except (OSError, ValueError):
            pass
        self._used: dict[str, Any] = {}

    def get(self, entry: str) -> Any | None:
        value = self._used.get(entry, self._old.get(entry))
        if value is not None:
            self._used[entry] = value
        return value

    def put(self, entry: str, value: Any) -> None:
        self._used[entry] = value

    def save(self) -> None:
        """Replace the file atomically (concurrent runs: the last one wins); a cache that cannot be written is skipped."""
        if self._used == self._old:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, suffix=".tmp") as out:
                json.dump(self._used, out)
            os.replace(out.name, self.path)
        except OSError:
            pass


def encode_problems(problems: list[Problem]) -> list[list[Any]]:
    return [[p.path, p.line, p.column, p.field, p.message] for p in problems]


def decode_problems(rows: list[list[Any]]) -> list[Problem]:
    return [Problem(*row) for row in rows]


class Unencodable(Exception):
    """A value JSON cannot hold as it is (a timestamp, say): such a file is simply not cached."""


def encode_document(document: Document) -> Any:
    return _encode(document.data)


def decode_document(path: str, encoded: Any) -> Document:
    return Document(path, _decode(encoded))


def _encode(value: Any) -> Any:
    """Round-trip nodes with the positions :meth:`Document.locate` reads: `lc.key` and `lc.item`."""
    if isinstance(value, CommentedMap):
        return {"map": [[_scalar(k), _position(value, k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, CommentedSeq):
        return {"seq": [[_position(value, i), _encode(v)] for i, v in enumerate(value)]}
    return _scalar(value)


def _position(node: CommentedMap | CommentedSeq, at: Any) -> list[int]:
    position = (node.lc.data or {}).get(at)  # a key merged in by `<<` has none
    if position is None:
        raise Unencodable("merged key")
    return list(position)


def _scalar(value: Any) -> Any:
    """None, or the plain bool, int, float or str of ruamel's scalar subclasses (order matters: bool is an int)."""
    if value is None:
        return None
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    raise Unencodable(type(value).__name__)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "map" in value:
            node = CommentedMap()
            for k, position, v in value["map"]:
                node[k] = _decode(v)
                node.lc.add_kv_line_col(k, position)
            return node
        seq = CommentedSeq()
        for i, (position, v) in enumerate(value["seq"]):
            seq.append(_decode(v))
            seq.lc.add_kv_line_col(i, position)
        return seq
    return value
