"""Promotion on a temporary git repository: what it writes when allowed, and that a refusal writes nothing."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from release_helpers import NOW, Live, Registry, git, release_of, repo  # noqa: F401 (repo is a fixture)
from ruamel.yaml import YAML

from amlops.promotion.plan import Refusal
from amlops.promotion.promote import promote


def run(
    repo: Path,
    source: str = "dev",
    target: str = "staging",
    endpoint: str | None = None,
    live: Live | None = None,
    registry: Registry | None = None,
):
    registry = registry if registry is not None else Registry()
    return promote(repo, source, target, endpoint, live or Live(), lambda _: registry, "Ada Tester <ada@example.com>", NOW)


def show(repo: Path, ref: str, path: str) -> str:
    return git(repo, "show", f"{ref}:{path}") + "\n"


def test_promotion_commits_the_same_release_on_a_branch(repo: Path) -> None:
    registry = Registry(present={("credit-risk", "1")})
    outcome = run(repo, registry=registry)
    p = outcome.promotion
    assert p.branch == f"promote/staging/{release_of(repo, 'dev').alias}"
    # The work tree and the checked-out branch are untouched; the branch holds one commit on top of main.
    assert git(repo, "status", "--porcelain") == "" and git(repo, "branch", "--show-current") == "main"
    assert git(repo, "rev-list", "--count", f"main..{p.branch}") == "1"
    assert git(repo, "diff", "--name-only", "main", p.branch).splitlines() == [
        "environments/staging.yaml",
        "releases/history/staging.yaml",
    ]
    # Only models that the registry lacked were shared; every one was checked first.
    assert [(m.name, m.version) for m in registry.shared] == [("churn", "2"), ("ticket-triage", "1")]
    assert {(m.name, m.version) for m in registry.checked} == {("churn", "2"), ("credit-risk", "1"), ("ticket-triage", "1")}
    # On the branch, staging declares exactly dev's release: the same id, via the registry.
    git(repo, "switch", "-q", p.branch)
    staging, dev = release_of(repo, "staging"), release_of(repo, "dev")
    assert staging.id == dev.id == p.release.id
    assert (
        staging.endpoints["churn"].deployments["main"].model.reference == "azureml://registries/amlopsreg/models/churn/versions/2"
    )


def test_the_rewrite_changes_model_lines_only_and_keeps_comments(repo: Path) -> None:
    staging = repo / "environments" / "staging.yaml"
    staging.write_text(
        staging.read_text().replace(
            "  churn:\n    deployments:\n      main:\n        model: churn:1\n",
            "  churn:\n    deployments:\n      # the CPU scorer\n      main:\n        model: churn:1  # promoted from dev\n",
        )
    )
    git(repo, "commit", "-q", "-am", "comments")
    before = staging.read_text()
    branch = run(repo).promotion.branch
    after = show(repo, branch, "environments/staging.yaml")
    changed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert changed == [
        "-         model: credit-risk:1",
        "+         model: azureml://registries/amlopsreg/models/credit-risk/versions/1",
        "-         model: churn:1  # promoted from dev",
        "+         model: azureml://registries/amlopsreg/models/churn/versions/2 # promoted from dev",  # the comment moves right
        "-         model: churn:1",
        "+         model: azureml://registries/amlopsreg/models/churn/versions/2",
        "-         model: ticket-triage:1",
        "+         model: azureml://registries/amlopsreg/models/ticket-triage/versions/1",
    ]
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments and comments == [line for line in after.splitlines() if line.lstrip().startswith("#")]


def test_history_records_who_when_what_and_the_evidence(repo: Path) -> None:
    outcome = run(repo)
    text = show(repo, outcome.promotion.branch, "releases/history/staging.yaml")
    assert text.startswith("# Promotions into staging")
    (record,) = YAML(typ="safe").load(text)
    assert record["who"] == "Ada Tester <ada@example.com>" and record["when"] == NOW.isoformat()
    assert (record["from"], record["to"]) == ("dev", "staging")
    assert record["release"] == {"id": outcome.promotion.release.id, "alias": outcome.promotion.release.alias}
    assert record["commit"] == git(repo, "rev-parse", "main")
    churn = next(v for v in record["verification"] if v["endpoint"] == "churn")
    assert churn["healthy"] is True and churn["live_release"] == release_of(repo, "dev").endpoint("churn").id
    assert churn["soaked_minutes"] == 24 * 60 and churn["required_minutes"] == 0
    assert {m["reference"] for m in record["models"]} >= {"azureml://registries/amlopsreg/models/churn/versions/2"}


def test_history_is_appended_not_rewritten(repo: Path) -> None:
    first = run(repo, endpoint="churn").promotion.branch
    git(repo, "merge", "-q", "--ff-only", first)
    earlier = (repo / "releases" / "history" / "staging.yaml").read_text()
    second = run(repo, endpoint="churn-gpu").promotion.branch
    later = show(repo, second, "releases/history/staging.yaml")
    assert later.startswith(earlier) and len(YAML(typ="safe").load(later)) == 2


def test_one_endpoint_moves_alone(repo: Path) -> None:
    branch = run(repo, endpoint="churn").promotion.branch
    after = YAML(typ="safe").load(show(repo, branch, "environments/staging.yaml"))
    assert after["endpoints"]["churn"]["deployments"]["main"]["model"].endswith("/churn/versions/2")
    assert after["endpoints"]["churn-gpu"]["deployments"]["main"]["model"] == "churn:1"
    assert branch.startswith("promote/staging/")


def test_an_endpoint_new_to_the_target_is_added_without_the_sources_sizes(repo: Path) -> None:
    staging = repo / "environments" / "staging.yaml"
    text = staging.read_text()
    gpu = text.index("  churn-gpu:")
    staging.write_text(text[:gpu] + text[text.index("  phi3-chat:") :])
    git(repo, "commit", "-q", "-am", "staging without churn-gpu")
    after = YAML(typ="safe").load(show(repo, run(repo).promotion.branch, "environments/staging.yaml"))
    assert after["endpoints"]["churn-gpu"] == {
        "deployments": {"main": {"model": "azureml://registries/amlopsreg/models/churn/versions/2"}}
    }


def test_into_prod_after_the_staging_soak(repo: Path) -> None:
    git(repo, "merge", "-q", "--ff-only", run(repo).promotion.branch)
    outcome = run(repo, "staging", "prod", live=Live(since=NOW - timedelta(minutes=61)))
    assert outcome.promotion.verified[0].required_minutes == 60
    git(repo, "switch", "-q", outcome.promotion.branch)
    assert release_of(repo, "prod").id == release_of(repo, "staging").id == release_of(repo, "dev").id


def _local(repo: Path, *environments: str) -> None:
    """Make `environments` local: target local, without the azure and infrastructure sections (clusters kept)."""
    yaml = YAML()
    yaml.width = 4096  # long flow-style lines (the autoscale rules) stay whole, as a person editing would keep them
    for name in environments:
        path = repo / "environments" / f"{name}.yaml"
        data = yaml.load(path.read_text())
        data["platform"] = "local"
        data["clusters"] = data["infrastructure"]["clusters"]  # what jobs run on: apply creates them on local
        del data["azure"], data["infrastructure"]
        with path.open("w") as out:
            yaml.dump(data, out)
    git(repo, "commit", "-q", "-am", f"{', '.join(environments)} local")


def test_local_environments_promote_through_the_control_planes_registry(repo: Path) -> None:
    _local(repo, "dev", "staging")
    outcome = run(repo)
    assert outcome.promotion.registry == "local-registry"
    staging = YAML(typ="safe").load(show(repo, outcome.promotion.branch, "environments/staging.yaml"))
    assert (
        staging["endpoints"]["churn"]["deployments"]["main"]["model"]
        == "azureml://registries/local-registry/models/churn/versions/2"
    )


# --- refusals: each with its message, each leaving everything as it was -----------------------------


def _uncommitted(repo: Path) -> None:
    (repo / "environments" / "staging.yaml").write_text((repo / "environments" / "staging.yaml").read_text() + "# edited\n")


def _branch_exists(repo: Path) -> None:
    git(repo, "branch", f"promote/staging/{release_of(repo, 'dev').alias}")


def _already_promoted(repo: Path) -> None:
    git(repo, "merge", "-q", "--ff-only", run(repo).promotion.branch)


def _invalid_manifest(repo: Path) -> None:
    (repo / "environments" / "dev.yaml").write_text(
        (repo / "environments" / "dev.yaml").read_text().replace("model: churn:2", "model: churn:9", 1)
    )
    git(repo, "commit", "-q", "-am", "broken")


def _no_path(repo: Path) -> None:
    git(repo, "rm", "-q", "releases/promotion.yaml")
    git(repo, "commit", "-q", "-m", "no path")


REFUSALS: dict[str, tuple[dict, Callable[[Path], None] | None, str]] = {
    "unknown environment": ({"target": "qa"}, None, "no environment 'qa'"),
    "same environment": ({"target": "dev"}, None, "dev -> dev is not a step of the promotion path"),
    "skipping staging": ({"target": "prod"}, None, "dev -> prod is not a step of the promotion path dev -> staging -> prod"),
    "backwards": ({"source": "staging", "target": "dev"}, None, "not a step of the promotion path"),
    "local target": ({"source": "dev", "target": "local"}, None, "not a step"),
    "azure to local": (
        {},
        lambda repo: _local(repo, "staging"),
        "dev runs on azure and staging on local: a release moves only between environments of one kind",
    ),
    "unknown endpoint": ({"endpoint": "fraud"}, None, "dev serves no endpoint 'fraud'"),
    "not live": ({"live": Live(release_ids={"churn": None})}, None, "churn has no release live in dev: apply dev first"),
    "other release live": (
        {"live": Live(release_ids={"churn": "0123456789abcdef"})},
        None,
        "churn: dev serves release 0123456789abcdef, but its manifest declares",
    ),
    "unhealthy": ({"live": Live(healthy=False)}, None, "is not healthy in dev: traffic main=100%"),
    "not soaked": (
        {"source": "staging", "target": "prod", "live": Live(since=NOW - timedelta(minutes=25))},
        _already_promoted,
        "has been live in staging for 25 of the 60 minutes its manifest requires before promotion; it may be promoted from 2026-03-02T12:35+00:00",
    ),
    "nothing to promote": ({}, _already_promoted, "staging already declares release"),
    "uncommitted changes": ({}, _uncommitted, "uncommitted changes in environments/staging.yaml"),
    "branch exists": ({}, _branch_exists, "already exists: this promotion is under way"),
    "invalid manifests": ({}, _invalid_manifest, "the manifests have 1 problem(s)"),
    "no promotion path": ({}, _no_path, "no releases/promotion.yaml"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusal_changes_nothing(repo: Path, case: str) -> None:
    kwargs, prepare, message = REFUSALS[case]
    if prepare:
        prepare(repo)
    status, branches, head = git(repo, "status", "--porcelain"), git(repo, "branch", "--list"), git(repo, "rev-parse", "HEAD")
    registry = Registry()
    with pytest.raises(Refusal) as refused:
        run(repo, registry=registry, **kwargs)
    assert message in str(refused.value)
    assert registry.shared == []
    assert (git(repo, "status", "--porcelain"), git(repo, "branch", "--list"), git(repo, "rev-parse", "HEAD")) == (
        status,
        branches,
        head,
    )


def test_the_workspace_is_not_asked_when_the_manifests_already_refuse(repo: Path) -> None:
    live = Live()
    with pytest.raises(Refusal):
        run(repo, target="prod", live=live)
    assert live.calls == 0


def test_a_registry_refusal_shares_nothing(repo: Path) -> None:
    class Conflicting(Registry):
        def missing(self, model):  # the second model means other bytes in the registry
            if self.checked:
                raise Refusal(f"model {model.name}:{model.version} in registry amlopsreg has content 000000000000")
            return super().missing(model)

    registry = Conflicting()
    with pytest.raises(Refusal, match="has content"):
        run(repo, registry=registry)
    assert registry.shared == [] and git(repo, "branch", "--list").split() == ["*", "main"]


def test_a_failed_share_leaves_no_branch(repo: Path) -> None:
    class Failing(Registry):
        def share(self, model):
            raise RuntimeError("registry unavailable")

    with pytest.raises(RuntimeError):
        run(repo, registry=Failing())
    assert git(repo, "branch", "--list").split() == ["*", "main"] and git(repo, "status", "--porcelain") == ""
