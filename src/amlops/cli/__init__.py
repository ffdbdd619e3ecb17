"""The `amlops` command line: thin typer commands that parse, call the core, and render."""
