"""Safe YAML reading that remembers where every value came from.

Manifests are untrusted input (they arrive in pull requests), so before anything is built from a file
its event stream is checked: no tags beyond YAML's own, no tabs in indentation, no duplicate keys,
and a bound on how far aliases may expand, so that a small "billion laughs" file is refused in
linear time instead of expanding in memory. Values keep their line and column (ruamel.yaml's
round-trip nodes), so later checks can point at the exact field.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
    ScalarEvent,
)

from amlops.manifests.errors import Problem

#: Most nodes a document may have once its aliases are expanded. Real manifests have hundreds.
MAX_EXPANDED_NODES = 100_000
#: Largest manifest file read at all.
MAX_FILE_BYTES = 1_000_000
_YAML_TAGS = re.compile(r"^tag:yaml\.org,2002:(str|int|float|bool|null|map|seq|timestamp)$")
#: A `{{...}}` template placeholder; Azure ML's own expressions, `${{inputs.x}}`, are not one.
_TEMPLATE = re.compile(r"(?<!\$)\{\{.*?\}\}")

#: Where a field sits in a document: keys and list indices from the top.
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its data, and where each field of it sits in the file."""

    path: str
    data: Any

    def locate(self, field: FieldPath) -> tuple[int, int]:
        """Line and column (from 1) of the deepest part of `field` that exists in the file."""
        node, line, column = self.data, 1, 1
        for key in field:
            if isinstance(node, CommentedMap) and key in node:
                line, column = node.lc.key(key)
                line, column = line + 1, column + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
                line, column = node.lc.item(key)
                line, column = line + 1, column + 1
                node = node[key]
            else:
                break
        return line, column

    def problem(self, field: FieldPath, message: str) -> Problem:
        line, column = self.locate(field)
        return Problem(self.path, line, column, dotted(field), message)

    def path_problem(self, root: Path, field: FieldPath, raw: str) -> Problem | None:
        """Why a path the file names, relative to the file, is unusable: outside `root`, or missing."""
        if "://" in raw:
            return None
        target = (root / self.path).parent.joinpath(raw).resolve()
        if not target.is_relative_to(root.resolve()):
            return self.problem(field, f"{raw!r} points outside the repository")
        return None if target.exists() else self.problem(field, f"{raw!r} does not exist")


def dotted(field: FieldPath) -> str:
    """`('endpoints', 'x', 'traffic')` -> `endpoints.x.traffic`; list items as `[i]`."""
    out = ""
    for part in field:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_yaml(path: Path, shown_as: str) -> tuple[Document | None, list[Problem]]:
    """Parse `path` safely. Returns the document, or None with the problems that stopped it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(shown_as, 1, 1, "", f"cannot read file: {exc.strerror}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [Problem(shown_as, 1, 1, "", f"file is over {MAX_FILE_BYTES} bytes")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(shown_as, 1, 1, "", f"not UTF-8 text ({exc.reason})")]
    return parse_yaml(text, shown_as)


def parse_yaml(text: str, shown_as: str) -> tuple[Document | None, list[Problem]]:
    """Parse YAML text; see :func:`read_yaml`."""
    problems = _tab_problems(text, shown_as)
    if problems:
        return None, problems
    template = _TEMPLATE.search(text)
    if template:
        line = text.count("\n", 0, template.start()) + 1
        return None, [
            Problem(
                shown_as,
                line,
                template.start() - text.rfind("\n", 0, template.start()),
                "",
                f"template placeholder {template.group(0)!r}: fill it in before amlops reads the file",
            )
        ]
    yaml = YAML(typ="rt")
    try:
        problems = _event_problems(yaml, text, shown_as)
        if problems:
            return None, problems
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Problem(shown_as, line, column, "", _yaml_message(exc))]
    except YAMLError as exc:
        return None, [Problem(shown_as, 1, 1, "", f"invalid YAML: {exc}")]
    return Document(shown_as, data), []


def _yaml_message(exc: MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    message = "; ".join(parts) or "invalid YAML"
    if "duplicate key" in message:
        return message.replace("found duplicate key", "duplicate key").split(" with value")[0]
    return f"invalid YAML: {message}"


def _tab_problems(text: str, shown_as: str) -> list[Problem]:
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        if "\t" in line[:indent]:
            problems.append(Problem(shown_as, number, line.index("\t") + 1, "", "tab in indentation: YAML indents with spaces"))
    return problems


def _event_problems(yaml: YAML, text: str, shown_as: str) -> list[Problem]:
    """Walk the event stream once: refuse foreign tags and alias expansion past the bound."""
    problems: list[Problem] = []
    anchors: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, size so far]
    total = 0
    for event in yaml.parse(io.StringIO(text)):
        size = 0
        raw_tag = getattr(event, "tag", None) if isinstance(event, NodeEvent) else None
        if raw_tag:
            tag = str(getattr(raw_tag, "value", raw_tag))
            if tag and not tag.startswith("!!") and not _YAML_TAGS.match(tag) and tag != "!":
                mark = event.start_mark
                problems.append(Problem(shown_as, mark.line + 1, mark.column + 1, "", f"tag {tag} is not allowed"))
        if isinstance(event, CollectionStartEvent):
            stack.append([event.anchor, 1])
            continue
        if isinstance(event, ScalarEvent):
            size = 1
            if event.anchor:
                anchors[event.anchor] = 1
        elif isinstance(event, AliasEvent):
            size = anchors.get(event.anchor, 1)
        elif isinstance(event, CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor:
                anchors[anchor] = size
        else:
            continue
        if stack:
            stack[-1][1] += size
        total = max(total, size, sum(frame[1] for frame in stack))
        if total > MAX_EXPANDED_NODES:
            mark = event.start_mark
            problems.append(
                Problem(
                    shown_as,
                    mark.line + 1,
                    mark.column + 1,
                    "",
                    f"aliases expand past {MAX_EXPANDED_NODES} nodes (an alias bomb?): refused",
                )
            )
            return problems
    return problems


def plain(value: Any) -> Any:
    """Round-trip nodes as plain dicts, lists and scalars (for pydantic and azure-ai-ml)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
