"""The GitHub workflows: valid for GitHub, clean under zizmor, and calling only amlops commands that exist.

The workflows cannot run here, so what can be checked offline is checked: GitHub's own schema, the
security linter, the conventions zizmor does not enforce (version comments on pinned SHAs, no
ambient permissions, applies never cancelled), and that every `amlops` call names a real command
and real options.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted(GITHUB.glob("actions/*/action.yml"))
BIN = Path(sys.executable).parent

#: The amlops commands the workflows may call, with their options: the names agreed between the
#: helpers that build them. Owner in the comment; a command not yet landed is skipped, not failed.
CONTRACT: dict[tuple[str, ...], set[str]] = {
    ("validate",): {"--env"},  # manifests
    ("plan",): {"--env", "--format", "--detailed-exitcode"},  # rollout
    ("evaluate",): {"--env"},  # rollout: the plan's comparisons, ahead of apply
    ("apply",): {"--env", "--auto-approve"},  # rollout
    ("status",): {"--env"},  # rollout
    ("rollback",): {"--env", "--endpoint"},  # rollout
    ("infra", "plan"): {"--env", "--format", "--base"},  # infra
    ("release", "show"): {"--env", "--format"},  # release
    ("release", "affected"): {"--base"},  # release
    ("promote",): {"--from", "--to", "--endpoint", "--format"},  # release
    ("run",): {"--env", "--wait"},  # retraining: the run, then its candidate branch
    ("candidate",): {"--env", "--recent"},  # retraining: the runs schedules and monitors started
    ("comment",): {"--env", "--commit", "--outcomes", "--infra", "--plan", "--preview"},  # cli: the PR comment
    ("monitor",): {"--env", "--format"},  # monitoring: a breached monitor starts its job
}


def load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=300)


def test_workflows_exist() -> None:
    names = {p.stem for p in WORKFLOWS}
    assert {"pr", "main", "deploy", "promote", "drift"} <= names
    assert ACTIONS, "the shared setup action is missing"


def test_github_schema() -> None:
    for schema, files in (("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", ACTIONS)):
        result = run(str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files))
        assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_offline_has_no_findings() -> None:
    result = run(str(BIN / "zizmor"), "--offline", "--no-progress", str(GITHUB))
    assert result.returncode == 0, result.stdout + result.stderr


def uses(path: Path) -> list[str]:
    """Every `uses:` in a workflow or action, as written."""
    return re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+.*)$", path.read_text(), re.MULTILINE)


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: p.relative_to(GITHUB).as_posix())
def test_third_party_actions_pinned_by_sha_with_version(path: Path) -> None:
    for ref in uses(path):
        if ref.startswith("$/"):
            continue  # this repository, at the commit being run
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", ref), ref


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_ambient_permissions(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}, "top level must be `permissions: {}`; jobs ask for what they need"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {name} must state its permissions"
        assert "secrets" not in str(job.get("env", {})), f"job {name}: Azure is reached by OIDC, never a secret"


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: p.relative_to(GITHUB).as_posix())
def test_checkouts_do_not_persist_credentials(path: Path) -> None:
    for step in steps(load(path)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False


def steps(document: dict) -> list[dict]:
    if "runs" in document:
        return document["runs"]["steps"]
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def test_writers_are_one_at_a_time_and_never_cancelled() -> None:
    for name in ("deploy", "rollback"):
        (job,) = load(GITHUB / "workflows" / f"{name}.yml")["jobs"].values()
        assert job["concurrency"]["group"] == "deploy-${{ inputs.environment }}", name
        assert job["concurrency"]["cancel-in-progress"] is False, name
        assert job["environment"] == "${{ inputs.environment }}", name


def test_a_retrain_opens_its_candidate_branch_as_a_pull_request() -> None:
    (job,) = load(GITHUB / "workflows" / "retrain.yml")["jobs"].values()
    scripts = [str(s.get("run", "")) for s in job["steps"]]
    assert any('amlops run "$JOB" --env "$ENVIRONMENT" --wait' in s and "refs/heads/retrain/" in s for s in scripts)
    assert any('gh pr create --base main --head "$BRANCH" --fill' in s for s in scripts)
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_runs_nobody_followed_become_pull_requests_once() -> None:
    (job,) = load(GITHUB / "workflows" / "candidates.yml")["jobs"].values()
    scripts = [str(s.get("run", "")) for s in job["steps"]]
    [propose] = [s for s in scripts if "amlops candidate" in s]
    assert propose.index("refs/heads/retrain/*:refs/heads/retrain/*") < propose.index("amlops candidate --env dev --recent 50")
    assert any('gh pr create --base main --head "$branch" --fill' in s for s in scripts)
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_merge_goes_dev_staging_prod() -> None:
    jobs = load(GITHUB / "workflows" / "main.yml")["jobs"]
    assert "staging" not in str(jobs["dev"]["needs"]) and "dev" in jobs["staging"]["needs"]
    assert "staging" in jobs["prod"]["needs"]
    for stage in ("shared", "dev", "staging", "prod"):
        assert jobs[stage]["uses"] == "$/.github/workflows/deploy.yml"
        assert jobs[stage]["with"]["environment"] == stage


def test_pip_installs_and_caches_by_the_constraints() -> None:
    action = steps(load(GITHUB / "actions" / "setup" / "action.yml"))
    (setup,) = [s for s in action if "setup-python" in s.get("uses", "")]
    assert setup["with"]["cache"] == "pip" and setup["with"]["cache-dependency-path"] == "constraints.txt"
    (install,) = [s for s in action if "pip install" in s.get("run", "")]
    assert "pip install -c constraints.txt -e" in install["run"]


# --- amlops calls ---------------------------------------------------------------------------------

_CALL = re.compile(r"(?:^|[\s;&|$(])amlops((?:\s+[a-z][a-z-]*)+)([^\n;|>)]*)")


def amlops_calls(text: str) -> list[tuple[tuple[str, ...], set[str]]]:
    """`(command words, options)` for every amlops call in a shell script."""
    text = text.replace("\\\n", " ")
    return [(tuple(words.split()), set(re.findall(r"--[a-z][a-z-]*", rest))) for words, rest in _CALL.findall(text)]


def test_amlops_calls_are_parsed() -> None:
    script = 'x=$(amlops release affected --base "$B")\namlops promote --from "$F" ${E:+--endpoint "$E"} --format json > o'
    assert amlops_calls(script) == [
        (("release", "affected"), {"--base"}),
        (("promote",), {"--from", "--endpoint", "--format"}),
    ]


def workflow_calls() -> list[tuple[str, tuple[str, ...], set[str]]]:
    calls = []
    for path in WORKFLOWS + ACTIONS:
        for step in steps(load(path)):
            for command, options in amlops_calls(str(step.get("run", ""))):
                calls.append((path.name, command, options))
    return calls


def test_workflows_call_only_agreed_commands() -> None:
    calls = workflow_calls()
    assert len(calls) >= 8
    for where, command, options in calls:
        assert command in CONTRACT, f"{where}: amlops {' '.join(command)} is not an agreed command"
        assert options <= CONTRACT[command], f"{where}: amlops {' '.join(command)}: {options - CONTRACT[command]}"


@pytest.mark.parametrize("command", sorted(CONTRACT), ids=" ".join)
def test_agreed_command_exists(command: tuple[str, ...]) -> None:
    import typer

    from amlops.cli.main import app

    node = typer.main.get_command(app)
    for word in command:
        sub = getattr(node, "commands", {}).get(word)
        if sub is None:
            pytest.fail(f"amlops {' '.join(command)}, which a workflow runs, is missing")
        node = sub
    declared = {opt for param in node.params for opt in param.opts if opt.startswith("--")}
    assert CONTRACT[command] <= declared, f"amlops {' '.join(command)} lacks {CONTRACT[command] - declared}"
