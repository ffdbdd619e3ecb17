"""Persistent state: one SQLite file under the state dir. Every resource is an ARM JSON document keyed
by its lower-cased id (ARM ids are case-insensitive); SQLite gives atomic, durable writes, so a killed
server loses nothing that it acknowledged."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Doc = dict[str, Any]


def key_of(resource_id: str) -> str:
    return resource_id.rstrip("/").lower()


def collection_of(resource_id: str) -> str:
    """The collection a resource id belongs to (`.../endpoints/{e}` -> `.../endpoints`)."""
    return key_of(resource_id).rsplit("/", 1)[0]


class Store:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if f.exists():  # it holds endpoint keys and the signing secret: its user's only
                f.chmod(0o600)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS resources (key TEXT PRIMARY KEY, parent TEXT NOT NULL,"
            " kind TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS by_parent ON resources (parent, kind)")
        self._db.execute("CREATE INDEX IF NOT EXISTS by_kind ON resources (kind)")
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group reads and writes that must not interleave with other threads (e.g. version numbering)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get(self, resource_id: str) -> Doc | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM resources WHERE key=?", (key_of(resource_id),)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, resource_id: str, kind: str, doc: Doc) -> Doc:
        key = key_of(resource_id)
        with self._lock:
            self._db.execute(
                "INSERT INTO resources (key, parent, kind, seq, body) VALUES (?, ?, ?,"
                " (SELECT COALESCE(MAX(seq), 0) + 1 FROM resources), ?)"
                " ON CONFLICT(key) DO UPDATE SET body=excluded.body",
                (key, collection_of(key), kind, json.dumps(doc)),
            )
        return doc

    def delete(self, resource_id: str) -> None:
        """Delete a resource and everything below it."""
        key = key_of(resource_id)
        with self._lock:
            self._db.execute("DELETE FROM resources WHERE key=? OR substr(key, 1, ?)=?", (key, len(key) + 1, key + "/"))

    def children(self, collection_id: str, kind: str) -> list[Doc]:
        """The members of one kind of a collection (e.g. `{endpoint id}/deployments`), oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM resources WHERE parent=? AND kind=? ORDER BY seq", (key_of(collection_id), kind)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def of_kind(self, kind: str) -> list[Doc]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM resources WHERE kind=? ORDER BY seq", (kind,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
