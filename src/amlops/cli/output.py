"""What every command shares for output: one format option, the two consoles, and one way to report problems."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, NoReturn

import typer
from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(str, Enum):
    """text for people, json for programs, markdown for pull request comments."""

    text = "text"
    json = "json"
    markdown = "markdown"


def format_option(*allowed: Format) -> Any:
    """The `--format` option (default text), naming the formats this command prints; see `require`."""
    return typer.Option(Format.text, "--format", help=f"one of: {', '.join(f.value for f in allowed)}")


def require(format: Format, *allowed: Format) -> None:
    """Refuse a format this command does not print (exit 2, as for any bad option)."""
    if format not in allowed:
        fail(f"--format {format.value} is not available here: use {', '.join(f.value for f in allowed)}", code=2)


def fail(message: str, *details: object, code: int = 1) -> NoReturn:
    """The one error printer: details first (one per line, e.g. file:line: field: message), then the summary."""
    report(details)
    err.print(message, markup=False)
    raise typer.Exit(code)


def report(lines: Iterable[object]) -> None:
    for line in lines:
        err.print(str(line), markup=False)
