# The development loop (see CONTRIBUTING.md). Every target runs the tools of the virtual environment
# in $(VENV), made by the README's install line; `make VENV=/path/to/venv lint` uses another.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help lint types test-fast test-slow test docs constraints

help:
	@echo "make lint         ruff check, ruff format --check, import-linter contracts"
	@echo "make types        mypy"
	@echo "make test-fast    the tests not marked slow"
	@echo "make test-slow    the tests marked slow: they start servers or build served-model environments"
	@echo "make test         every test"
	@echo "make docs         the documentation site, warnings as errors, into site/"
	@echo "make constraints  recompile constraints.txt from pyproject.toml (after changing dependencies)"

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

types:
	$(BIN)/mypy src/amlops

test-fast:
	$(BIN)/python -m pytest -q -m "not slow"

test-slow:
	$(BIN)/python -m pytest -q -m slow

test:
	$(BIN)/python -m pytest -q

docs:
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The same command is recorded at the top of constraints.txt; tests/test_install.py checks both agree.
constraints:
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --quiet -o constraints.txt
