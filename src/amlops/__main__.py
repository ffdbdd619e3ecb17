"""`python -m amlops`, the same as the `amlops` console script."""

from amlops.cli.main import app

app()
