"""Reading a monitor's data as columns: collected production rows, and the reference (baseline) data asset.

Production data is what Azure's model data collector writes: JSONL files under
`modelDataCollector/<endpoint>/<deployment>/<collection>/yyyy/mm/dd/hh/`, one CloudEvent per line whose
`data` holds the logged rows (a list of records, as `Collector.collect(DataFrame)` sends them). A signal's
trailing window (`windowOffset`, `windowSize`, ISO 8601 durations; Azure's default window is the monitor's
own period, here 7 days) keeps the hours inside [now - offset - size, now - offset).
Reference data is a data asset: an `mltable` folder (its MLTable file's `paths` with `read_delimited`
or `read_json_lines`), or a `uri_file` / `uri_folder` of CSV or JSONL files.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

Columns = dict[str, list[Any]]
_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?)?$")
_HOUR = re.compile(r"(\d{4})/(\d{2})/(\d{2})/(\d{2})$")
DEFAULT_WINDOW = timedelta(days=7)


def duration(text: str | None, default: timedelta) -> timedelta:
    match = _DURATION.match(text or "")
    if not text or match is None or text == "default":
        return default
    return timedelta(days=int(match["d"] or 0), hours=int(match["h"] or 0), minutes=int(match["m"] or 0))


def production(folder: Path, offset: str | None, size: str | None, now: datetime | None = None) -> Columns:
    """The rows of the JSONL files in `folder` whose hour folder lies in the trailing window."""
    end = (now or datetime.now(UTC)) - duration(offset, timedelta(0))
    start = end - duration(size, DEFAULT_WINDOW)
    rows: list[dict[str, Any]] = []
    for file in sorted(folder.rglob("*.jsonl")):
        hour = _HOUR.search(file.parent.relative_to(folder).as_posix()) if file.parent != folder else None
        if hour is not None:
            year, month, day, at_hour = (int(g) for g in hour.groups())
            at = datetime(year, month, day, at_hour, tzinfo=UTC)
            if not start - timedelta(hours=1) < at < end:
                continue
        rows += _events(file)
    return _columns(rows)


def reference(path: Path, kind: str) -> Columns:
    if kind.lower() == "mltable":
        return _columns(_mltable(path if path.is_dir() else path.parent))
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in (".csv", ".jsonl"))
    return _columns([row for f in files for row in _file_rows(f)])


def _mltable(folder: Path) -> list[dict[str, Any]]:
    spec = YAML(typ="safe").load((folder / "MLTable").read_text()) or {}
    jsonl = any("read_json_lines" in (t or {}) for t in spec.get("transformations") or [] if isinstance(t, dict))
    rows = []
    for entry in spec.get("paths") or []:
        target = folder / str(entry.get("file") or entry.get("folder") or "")
        files = [target] if target.is_file() else sorted(target.glob("*.jsonl" if jsonl else "*.csv"))
        rows += [row for f in files for row in _file_rows(f)]
    return rows


def _file_rows(file: Path) -> list[dict[str, Any]]:
    if file.suffix == ".jsonl":
        return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
    with file.open(newline="") as handle:
        return [{k: _parsed(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _events(file: Path) -> list[dict[str, Any]]:
    rows = []
    for line in file.read_text().splitlines():
        if not line.strip():
            continue
        event = json.loads(line)
        data = event.get("data", event) if isinstance(event, dict) else event
        rows += [r for r in (data if isinstance(data, list) else [data]) if isinstance(r, dict)]
    return rows


def _columns(rows: list[dict[str, Any]]) -> Columns:
    names = list(dict.fromkeys(k for row in rows for k in row))
    return {name: [row.get(name) for row in rows] for name in names}


def _parsed(text: str) -> Any:
    """A CSV cell as the type it reads as (delimited text carries no types): empty is null."""
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
