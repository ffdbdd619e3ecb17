"""Options and helpers shared by the commands."""

from __future__ import annotations

import os
from pathlib import Path

import typer

RepoOption = typer.Option(
    Path(os.environ.get("AMLOPS_REPO", ".")),
    "--repo",
    help="the amlops repository (default: the current directory, or $AMLOPS_REPO)",
    file_okay=False,
    exists=True,
)
