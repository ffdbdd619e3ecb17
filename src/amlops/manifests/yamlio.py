"""Safe YAML reading that remembers where every value came from.

Manifests are untrusted input (they arrive in pull requests), so before anything is built from a file
its event stream is checked: no tags beyond YAML's own, no tabs in indentation, no duplicate keys,
and a bound on how far aliases may expand, so that a small "billion laughs" file is refused in
linear time instead of expanding in memory. Values keep their line and column (ruamel.yaml's
round-trip nodes), so later checks can point at the exact field.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import io
import re
from collections.abc import Iterable
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
from ruamel.yaml.parser import RoundTripParser
from ruamel.yaml.util import load_yaml_guess_indent

from amlops.manifests.errors import Problem

#: Most nodes a document may have once its aliases are expanded. Real manifests have hundreds.
MAX_EXPANDED_NODES = 100_000
#: Largest manifest file read at all.
MAX_FILE_BYTES = 256_000
#: Deepest nesting of collections a manifest may have. Real manifests nest under ten; ruamel.yaml's composer
#: recurses per level (RecursionError near 300), and its scanner's time per token grows with the flow depth.
MAX_DEPTH = 32
#: Most items a file's flow collections (`[a, b]`, `{k: v}`) may hold together: ruamel.yaml's round-trip
#: parser spends about 100 microseconds on each (block style costs a hundredth of that).
MAX_FLOW_ITEMS = 2_000
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
    """Parse YAML text; see :func:`read_yaml`.

    Parsing is most of validating a repository (ruamel.yaml's round-trip parser is pure Python), and the
    same text comes back often: a deployment file copied across endpoints, a test suite's sample
    repository. So the outcome of each text is kept (a few hundred, least recently used dropped) and
    handed out as a deep copy under `shown_as`, which no caller can tell from a fresh parse.
    """
    data, problems = _parsed(text, _rules())
    problems = [dataclasses.replace(p, path=shown_as) for p in problems]
    return (None, problems) if data is _FAILED else (Document(shown_as, copy.deepcopy(data)), problems)


_FAILED = object()  # what _parsed gives for a text that did not parse


def _rules() -> tuple[object, ...]:
    """What a parse's outcome depends on besides the text: the checks and limits in force (a test may turn one off)."""
    return (_tab_problems, _flow_depth_problem, _event_problems, _tag_problems, MAX_DEPTH, MAX_FLOW_ITEMS, MAX_EXPANDED_NODES)


@functools.lru_cache(maxsize=256)
def _parsed(text: str, rules: tuple[object, ...]) -> tuple[Any, list[Problem]]:
    """(data, problems) of `text` under `rules`, problems named by the placeholder path `parse_yaml` replaces."""
    document, problems = _parse(text, "")
    return (_FAILED if document is None else document.data), problems


def _parse(text: str, shown_as: str) -> tuple[Document | None, list[Problem]]:
    problems = _tab_problems(text, shown_as)
    if problems:
        return None, problems
    too_deep = _flow_depth_problem(text, shown_as)
    if too_deep:
        return None, [too_deep]
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
    try:
        data, problems = _load_checked(text, shown_as)
    except YAMLError as exc:
        return None, _unloaded(text, shown_as, exc)
    if problems:
        return None, problems
    return Document(shown_as, data), []


def _unloaded(text: str, shown_as: str, exc: YAMLError) -> list[Problem]:
    """The problems of a text that did not load, as checking all its events first, then loading it, finds them:
    a composer or constructor error comes after every event's problems, a parser error in place of them."""
    try:
        problems = _walk_events(YAML(typ="rt").parse(io.StringIO(text)), shown_as)
    except YAMLError as walked:
        return [_yaml_problem(walked, shown_as)]
    return problems or [_yaml_problem(exc, shown_as)]


def _yaml_problem(exc: YAMLError, shown_as: str) -> Problem:
    if not isinstance(exc, MarkedYAMLError):
        return Problem(shown_as, 1, 1, "", f"invalid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(shown_as, line, column, "", _yaml_message(exc))


class _Stopped(Exception):
    """The events checked so far refuse the file: the rest is not composed."""


class _CheckingParser(RoundTripParser):
    """ruamel.yaml's round-trip parser, passing each event through the checks as the composer takes it, so that
    one pass over the text both checks and loads it."""

    shown_as = ""

    def __init__(self, loader: Any) -> None:
        super().__init__(loader)
        self.walk = _Walk()
        self.problems: list[Problem] = []

    def get_event(self) -> Any:
        event = super().get_event()
        self.problems += _event_problems(event, self.walk, self.shown_as)
        if self.walk.stopped:
            raise _Stopped
        return event


def _load_checked(text: str, shown_as: str) -> tuple[Any, list[Problem]]:
    """(data, the event problems): a file the checks stop is not composed further, and gives no data."""
    yaml = YAML(typ="rt")
    yaml.Parser = _CheckingParser
    parser = yaml.parser  # made here, so that the load below reads through it
    parser.shown_as = shown_as
    try:
        return yaml.load(text), parser.problems
    except _Stopped:
        return None, parser.problems


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


@dataclass
class _Walk:
    """What the event checks have seen so far of one stream."""

    anchors: dict[str, int] = dataclasses.field(default_factory=dict)
    stack: list[list[Any]] = dataclasses.field(default_factory=list)  # [anchor, size so far] per open collection
    total: int = 0
    stopped: bool = False  # refused: the rest of the stream need not be read


def _walk_events(events: Iterable[Any], shown_as: str) -> list[Problem]:
    walk, problems = _Walk(), []
    for event in events:
        problems += _event_problems(event, walk, shown_as)
        if walk.stopped:
            break
    return problems


def _event_problems(event: Any, walk: _Walk, shown_as: str) -> list[Problem]:
    """One event's problems: a foreign tag, or (which stops the walk) nesting or alias expansion past the bounds."""
    problems = _tag_problems(event, shown_as)
    size, stack = 0, walk.stack
    if isinstance(event, CollectionStartEvent):
        stack.append([event.anchor, 1])
        if len(stack) > MAX_DEPTH:
            walk.stopped = True
            problems.append(_too_deep(shown_as, event.start_mark.line + 1, event.start_mark.column + 1))
        return problems
    if isinstance(event, ScalarEvent):
        size = 1
        if event.anchor:
            walk.anchors[event.anchor] = 1
    elif isinstance(event, AliasEvent):
        size = walk.anchors.get(event.anchor, 1)
    elif isinstance(event, CollectionEndEvent):
        anchor, size = stack.pop()
        if anchor:
            walk.anchors[anchor] = size
    else:
        return problems
    if stack:
        stack[-1][1] += size
    walk.total = max(walk.total, size, sum(frame[1] for frame in stack))
    if walk.total > MAX_EXPANDED_NODES:
        mark = event.start_mark
        walk.stopped = True
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


def _tag_problems(event: Any, shown_as: str) -> list[Problem]:
    raw_tag = getattr(event, "tag", None) if isinstance(event, NodeEvent) else None
    tag = str(getattr(raw_tag, "value", raw_tag)) if raw_tag else ""
    if tag and not tag.startswith("!!") and not _YAML_TAGS.match(tag) and tag != "!":
        mark = event.start_mark
        return [Problem(shown_as, mark.line + 1, mark.column + 1, "", f"tag {tag} is not allowed")]
    return []


def _flow_depth_problem(text: str, shown_as: str) -> Problem | None:
    """Flow collections (`[[[...`) nested past MAX_DEPTH or holding over MAX_FLOW_ITEMS, found in one pass over
    the text before ruamel.yaml, whose composer recurses per level and whose parser is slow on flow style. Brackets in quoted scalars and comments do not count, nor those inside
    a plain scalar (`a[0]`): only those where a flow collection can open."""
    depth, items, i, previous = 0, 0, 0, "\n"  # previous: the last character that is not a space
    while i < len(text):
        char = text[i]
        if char in "'\"" and previous in "\n:-?[{,":
            i = _closing_quote(text, i)
        elif char == "#" and (i == 0 or text[i - 1] in " \t\n"):
            i = _end_of_line(text, i)
            continue
        elif char in "[{" and (depth or previous in "\n:-?"):
            depth, items = depth + 1, items + 1
            if depth > MAX_DEPTH:
                return _too_deep(shown_as, *_position(text, i))
        elif char in "]}" and depth:
            depth -= 1
        elif char == "," and depth:
            items += 1
        if items > MAX_FLOW_ITEMS:
            line, column = _position(text, i)
            message = f"over {MAX_FLOW_ITEMS} items in flow collections ([a, b], {{k: v}}): write long lists in block style"
            return Problem(shown_as, line, column, "", message)
        previous = previous if char in " \t" else text[i]
        i += 1
    return None


def _position(text: str, i: int) -> tuple[int, int]:
    return text.count("\n", 0, i) + 1, i - text.rfind("\n", 0, i)


def _closing_quote(text: str, start: int) -> int:
    """Where the quoted scalar opened at `start` ends (its last character): `''` and `\\"` do not end it."""
    quote, i = text[start], start + 1
    while True:
        i = text.find(quote, i)
        if i < 0:
            return len(text) - 1
        if quote == "'" and text.startswith("''", i):
            i += 2
        elif quote == '"' and _backslashes_before(text, i, start) % 2:
            i += 1
        else:
            return i


def _backslashes_before(text: str, i: int, start: int) -> int:
    count = 0
    while i - count - 1 > start and text[i - count - 1] == "\\":
        count += 1
    return count


def _end_of_line(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def _too_deep(shown_as: str, line: int, column: int) -> Problem:
    return Problem(shown_as, line, column, "", f"nested deeper than {MAX_DEPTH} levels: refused")


def plain(value: Any) -> Any:
    """Round-trip nodes as plain dicts, lists and scalars (for pydantic and azure-ai-ml)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def round_trip(text: str) -> YAML:
    """A round-trip YAML set to the file's own indentation, so untouched lines come back byte for byte
    (what edits of a person's file use: comments, key order and quoting stay as they were)."""
    _, indent, offset = load_yaml_guess_indent(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=indent - offset if offset else indent, sequence=indent, offset=offset or 0)
    return yaml


def dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
