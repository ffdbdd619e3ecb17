"""The README's install line is what CI runs, and constraints.txt pins everything pyproject.toml asks for,
within its ranges: a dependency added without `make constraints` fails here, not on a user's machine."""

import re
import subprocess
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
INSTALL = ".venv/bin/pip install -c constraints.txt -e '.[dev]'"


def readme_commands() -> list[str]:
    """The two commands as .ci/run extracts them from the README."""
    result = subprocess.run(["bash", ".ci/run", "--print"], cwd=REPO, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def pins() -> dict[str, list[tuple[str, str]]]:
    """constraints.txt: per package, its pinned versions with their markers (one per Python range)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith(("#", " ")):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line
            found.setdefault(canonicalize_name(requirement.name), []).append((specifier.version, str(requirement.marker or "")))
    return found


def test_ci_runs_the_readme_install_line_then_apply_then_pytest():
    main_job, tests = readme_commands()
    for command in (main_job, tests):
        assert command.startswith(f"python3 -m venv .venv && {INSTALL} && "), command
        assert "upgrade" not in command
    assert main_job.endswith(".venv/bin/amlops apply --env local --auto-approve")
    assert tests.endswith(".venv/bin/python -m pytest -q")


def test_constraints_pin_every_dependency_within_its_range():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    pinned = pins()
    python = default_environment() | {"python_full_version": "3.11.7", "python_version": "3.11"}
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        if name == "amlops":  # the dev extra includes the docs extra
            continue
        assert name in pinned, f"{requirement} is not in constraints.txt: run `make constraints`"
        versions = [v for v, marker in pinned[name] if not marker or Requirement(f"x; {marker}").marker.evaluate(python)]
        assert versions and all(v in requirement.specifier for v in versions), (requirement, pinned[name])


def test_make_constraints_runs_the_command_constraints_txt_records():
    recorded = re.search(r"^#    (uv pip compile .*)$", (REPO / "constraints.txt").read_text(), re.M)
    assert recorded, "constraints.txt does not say which command made it"
    recipe = re.search(r"^constraints:\n\t\$\(BIN\)/(.*)$", (REPO / "Makefile").read_text(), re.M)
    assert recipe and recipe.group(1).replace(" --quiet", "") == recorded.group(1)
