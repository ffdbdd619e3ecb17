"""GitHub Actions: workflow commands for annotations and the job summary, when running in a job.

Formats from GitHub's "Workflow commands for GitHub Actions": `::error file=F,line=L,col=C,title=T::message`,
with `%`, CR and LF escaped in the message and also `:` and `,` in properties; the job summary is
markdown appended to the file `$GITHUB_STEP_SUMMARY` names.
"""

from __future__ import annotations

import os
from pathlib import Path

from amlops.manifests.errors import Problem


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(problem: Problem) -> str:
    """One `::error` workflow command: GitHub shows it on the file's line in the pull request."""
    where = f"file={_property(problem.path)},line={problem.line},col={problem.column}"
    title = f",title={_property(problem.field)}" if problem.field else ""
    return f"::error {where}{title}::{_data(problem.message)}"


def add_summary(markdown: str) -> None:
    """Append to the job summary; nothing outside a job (where the variable is unset)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with Path(target).open("a", encoding="utf-8") as summary:
            summary.write(markdown.rstrip("\n") + "\n\n")
