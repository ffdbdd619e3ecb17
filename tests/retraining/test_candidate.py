"""A run's model becomes a candidate branch, or nothing when its bytes are a version's already (in-memory workspace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from candidate_support import NEW, applied, committed_sample, git, v1_bytes
from ruamel.yaml import YAML
from training.training_support import session
from typer.testing import CliRunner

from amlops import git as gitrepo
from amlops.cli.main import app
from amlops.manifests import validate_repository
from amlops.release import build_release
from amlops.release.bundle import hash_path
from amlops.retraining.candidate import propose
from amlops.retraining.decide import Identical, NewVersion, decide
from amlops.retraining.target import Refusal
from amlops.rollout.plan import plan
from amlops.state import record
from amlops.state.live import LiveState
from amlops.training import submit as training_submit
from amlops.training.submit import job_spec


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return committed_sample(tmp_path / "repo")


def test_new_content_is_registered_once_and_proposed_on_a_branch(root: Path, tmp_path: Path) -> None:
    a = applied(root)
    workspace = a.workspace
    run = a.run(NEW)
    outcome = propose(root, "local", run, workspace)
    assert outcome is not None and not outcome.identical
    assert (outcome.version, outcome.branch) == ("2", f"retrain/churn-v2-{run}")
    # The work tree and the checked-out branch are untouched; the branch is one commit on main.
    assert git(root, "status", "--porcelain") == "" and git(root, "branch", "--show-current") == "main"
    assert git(root, "diff", "--name-only", "main", outcome.branch).splitlines() == [
        "environments/local.yaml",
        "models/churn/v2.metrics.json",
        "models/churn/v2.yml",
    ]
    (tmp_path / "expected").mkdir()
    for name, content in NEW.items():
        (tmp_path / "expected" / name).write_bytes(content)
    content = hash_path(tmp_path / "expected")  # as releases hash a model's bytes
    assert outcome.content_hash == content
    # Registered once, from the run's output, with its content hash and lineage.
    tags = workspace.models[("churn", "2")]
    assert tags[record.CONTENT_HASH] == content and tags["amlops.run"] == run
    assert tags["amlops.data"] == "churn-customers:1" and tags["amlops.job"] == "jobs/churn-retrain.yml"
    assert [w for w in workspace.writes if w.startswith("register model churn:2")] == [
        f"register model churn:2 from azureml://jobs/{run}/outputs/candidate/paths/"
    ]
    model = YAML(typ="safe").load(git(root, "show", f"{outcome.branch}:models/churn/v2.yml"))
    assert model["path"] == f"azureml://jobs/{run}/outputs/candidate/paths/" and model["version"] == "2"
    assert model["tags"]["amlops.content_hash"] == content and model["tags"]["amlops.run"] == run
    metrics = json.loads(git(root, "show", f"{outcome.branch}:models/churn/v2.metrics.json"))
    assert metrics["metrics"] == {"metrics.json": {"accuracy": 0.84, "passed": True}}
    message = git(root, "log", "-1", "--format=%B", outcome.branch)
    assert message.startswith(f"Candidate churn:2 from run {run}") and "- metrics.json: accuracy: 0.84" in message
    assert "local: churn/main" in message
    # On the branch, local serves churn:2 pinned by its content hash, and plan rolls the churn endpoint to it.
    git(root, "switch", "-q", outcome.branch)
    repo, problems = validate_repository(root, "local")
    assert problems == []
    release = build_release(repo, "local")
    pin = release.endpoints["churn"].deployments["main"].model
    assert (pin.name, pin.version, pin.content_hash) == ("churn", "2", content)
    planned = session(root, workspace).plan()  # on the branch
    assert planned.conflicts == () and planned.models == ()
    [churn] = [e for e in planned.changed_endpoints if e.name == "churn"]
    assert [c.detail for c in churn.deployments if c.change.value == "add"] == ["model churn:2"]


def test_identical_bytes_make_no_version_and_no_branch(root: Path) -> None:
    a = applied(root)
    workspace = a.workspace
    run = a.run(v1_bytes())
    writes = list(workspace.writes)
    outcome = propose(root, "local", run, workspace)
    assert outcome is not None and outcome.identical and outcome.version == "1" and outcome.branch is None
    assert outcome.summary == "identical to churn:1: no new version, no branch"
    assert workspace.writes == writes and ("churn", "2") not in workspace.models
    assert git(root, "branch", "--list", "retrain/*") == ""


def test_a_second_identical_run_makes_nothing_while_the_first_candidate_is_open(root: Path) -> None:
    a = applied(root)
    workspace = a.workspace
    first = propose(root, "local", a.run(NEW), workspace)
    assert first is not None and first.branch is not None
    second = propose(root, "local", a.run(NEW), workspace)
    assert second is not None and second.identical and second.version == "2"
    assert second.summary == f"identical to churn:2 (registered, candidate branch {first.branch}): no new version, no branch"
    assert git(root, "branch", "--list", "retrain/*").split() == [first.branch]
    assert sorted(v for n, v in workspace.models if n == "churn") == ["1", "2"]


def test_a_retry_after_a_failed_commit_makes_the_branch_without_registering_again(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = applied(root)
    workspace = a.workspace
    run = a.run(NEW)
    real = gitrepo.commit_on_branch

    def fails(*args: object) -> str:
        raise gitrepo.GitError("disk full")

    monkeypatch.setattr(gitrepo, "commit_on_branch", fails)
    with pytest.raises(gitrepo.GitError):
        propose(root, "local", run, workspace)
    monkeypatch.setattr(gitrepo, "commit_on_branch", real)
    outcome = propose(root, "local", run, workspace)
    assert outcome is not None and outcome.branch == f"retrain/churn-v2-{run}"
    assert len([w for w in workspace.writes if w.startswith("register model churn:2")]) == 1


def test_refusals_register_nothing_and_make_no_branch(root: Path) -> None:
    a = applied(root)
    workspace = a.workspace
    run = a.run(NEW)
    git(root, "branch", f"retrain/churn-v2-{run}")
    with pytest.raises(Refusal, match=f"branch retrain/churn-v2-{run} already exists"):
        propose(root, "local", run, workspace)
    git(root, "branch", "-D", f"retrain/churn-v2-{run}")
    (root / "environments/local.yaml").write_text((root / "environments/local.yaml").read_text() + "# edited\n")
    with pytest.raises(Refusal, match="uncommitted changes in environments/local.yaml"):
        propose(root, "local", run, workspace)
    git(root, "checkout", "-q", "--", "environments/local.yaml")
    workspace.failing_steps.add("train")
    with pytest.raises(AssertionError):
        a.run(NEW)
    failed = list(workspace.jobs)[-1]
    with pytest.raises(Refusal, match=f"run {failed} is Failed"):
        propose(root, "local", failed, workspace)
    assert ("churn", "2") not in workspace.models and git(root, "branch", "--list", "retrain/*") == ""
    # A run amlops did not submit from a job file here retrains nothing it serves.
    workspace.jobs[run].run.tags.pop(record.MANIFEST)
    assert propose(root, "local", run, workspace) is None


def test_a_run_in_the_first_environment_of_the_path_bumps_it(root: Path) -> None:
    a = applied(root, "dev")
    workspace = a.workspace
    run = a.run(NEW)
    outcome = propose(root, "dev", run, workspace)
    assert outcome is not None and outcome.bumped == ("dev: churn/main", "dev: churn-gpu/main")
    dev = YAML(typ="safe").load(git(root, "show", f"{outcome.branch}:environments/dev.yaml"))
    assert dev["endpoints"]["churn"]["deployments"]["main"]["model"] == "churn:2"
    assert git(root, "diff", "main", outcome.branch, "--", "environments/dev.yaml").count("\n+ ") == 2


def test_a_reference_only_model_not_in_the_workspace_is_a_conflict_and_other_bytes_too(root: Path) -> None:
    a = applied(root)
    workspace = a.workspace
    outcome = propose(root, "local", a.run(NEW), workspace)
    assert outcome is not None and outcome.branch
    git(root, "switch", "-q", outcome.branch)
    release = build_release(validate_repository(root, "local")[0], "local")
    [conflict] = plan(release, LiveState({}, {}, {})).conflicts
    assert conflict.startswith("model churn:2 references a registered asset (a run's output) that local's workspace")
    workspace.models[("churn", "2")][record.CONTENT_HASH] = "0" * 64
    [conflict] = plan(release, workspace.observe(models=[("churn", "2")])).conflicts
    assert conflict.startswith("model churn:2 is registered with content 000000000000, but  has content")


def test_decide_keeps_one_version_per_content() -> None:
    assert decide("a", {"1": "a"}, {"1": "a"}) == Identical("1", True)
    assert decide("b", {"1": "a"}, {"1": "a", "2": "b"}) == Identical("2", False)
    assert decide("c", {"1": "a", "3": None}, {"1": "a", "2": "b"}) == NewVersion("4")
    assert decide("c", {}, {}) == NewVersion("1")


def test_amlops_candidate_proposes_a_finished_run_and_refuses_with_what_to_do(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = applied(root)
    run = a.run(NEW)
    monkeypatch.setattr(training_submit, "open_training", lambda repo, env: a.session)
    runner = CliRunner()
    made = runner.invoke(app, ["candidate", run, "--env", "local", "--format", "json", "--repo", str(root)])
    assert made.exit_code == 0, made.output
    printed = json.loads(made.stdout)
    assert (printed["branch"], printed["version"], printed["identical"]) == (f"retrain/churn-v2-{run}", "2", False)
    assert printed["title"] == f"Candidate churn:2 from run {run}"
    missing = runner.invoke(app, ["candidate", "nope", "--env", "local", "--repo", str(root)])
    assert missing.exit_code == 1
    assert "no candidate from nope: no run nope in local; once fixed: amlops candidate nope --env local" in missing.output


def test_without_a_run_each_completed_retraining_run_is_proposed_once(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = applied(root)
    trained, again = a.run(NEW), a.run(NEW)  # as a schedule leaves them: completed, followed by nobody
    a.workspace.failing_steps = {"train"}
    failed = a.workspace.submit(job_spec(a.session, "churn-retrain", {})).name
    while not (run := a.workspace.run(failed)) or not run.terminal:
        pass
    assert run.status == "Failed"  # not proposed: only a completed run has a model
    monkeypatch.setattr(training_submit, "open_training", lambda repo, env: a.session)
    runner = CliRunner()
    made = runner.invoke(app, ["candidate", "--env", "local", "--recent", "5", "--format", "json", "--repo", str(root)])
    assert made.exit_code == 0, made.output
    printed = [json.loads(line) for line in made.stdout.splitlines()]
    assert [(p["run"], p["branch"], p["identical"]) for p in printed] == [
        (trained, f"retrain/churn-v2-{trained}", False),
        (again, None, True),  # the same bytes: the version the first one registered
    ]
    # Twice is once: the next pass finds the version and its branch.
    repeated = runner.invoke(app, ["candidate", "--env", "local", "--format", "json", "--repo", str(root)])
    assert repeated.exit_code == 0, repeated.output
    assert [json.loads(line)["identical"] for line in repeated.stdout.splitlines()] == [True, True]
    assert git(root, "branch", "--list", "retrain/*").split() == [f"retrain/churn-v2-{trained}"]
