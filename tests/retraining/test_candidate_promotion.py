"""A merged candidate (a model file that references its run's output) is promoted like any model: through the registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from promotion.release_helpers import NOW, Live, git, release_of, repo  # noqa: F401 (repo is a fixture)

from amlops.promotion.plan import Refusal
from amlops.promotion.promote import promote
from amlops.promotion.registry import WorkspaceRegistry
from amlops.retraining.files import Lineage, model_file
from amlops.state import record
from amlops.workspace.memory import MemoryWorkspace

CONTENT = "c0ffee" * 10 + "beef"


def as_candidate(repo: Path) -> None:
    """dev serves churn:2 as a merged candidate branch leaves it: no artifact, the content hash as a tag."""
    shutil.rmtree(repo / "models/churn/v2")
    lineage = Lineage("run1", "dev", "jobs/churn-retrain.yml", ("churn-customers:1",), "0" * 40)
    uri = "azureml://jobs/run1/outputs/candidate/paths/"
    (repo / "models/churn/v2.yml").write_text(model_file("churn", "2", "custom_model", uri, CONTENT, lineage))
    git(repo, "commit", "-qam", "candidate churn:2")


def promote_with(repo: Path, source: MemoryWorkspace):
    registry = WorkspaceRegistry(source, source.registry("amlopsreg"))
    return promote(repo, "dev", "staging", None, Live(), lambda _: registry, "Ada Tester <ada@example.com>", NOW)


def dev_workspace(repo: Path, churn: str) -> MemoryWorkspace:
    """The dev workspace once dev's release is applied: each model it serves, with churn:2's bytes `churn`."""
    source = MemoryWorkspace("dev")
    for endpoint in release_of(repo, "dev").endpoints.values():
        for deployment in endpoint.deployments.values():
            source.models[(deployment.model.name, deployment.model.version)] = {
                record.CONTENT_HASH: str(deployment.model.content_hash)
            }
    source.models[("churn", "2")] = {record.CONTENT_HASH: churn}
    return source


def test_the_candidate_is_shared_and_staging_declares_the_same_release(repo: Path) -> None:
    as_candidate(repo)
    pin = release_of(repo, "dev").endpoints["churn"].deployments["main"].model
    assert (pin.content_hash, pin.path) == (CONTENT, None)  # pinned by the hash its file records
    source = dev_workspace(repo, CONTENT)
    outcome = promote_with(repo, source)
    assert ("churn", "2") in source.registry("amlopsreg").models
    git(repo, "switch", "-q", outcome.promotion.branch)
    staging, dev = release_of(repo, "staging"), release_of(repo, "dev")
    assert staging.id == dev.id == outcome.promotion.release.id
    assert staging.endpoints["churn"].deployments["main"].model.content_hash == CONTENT


def test_a_workspace_version_with_other_bytes_is_refused_before_anything_is_shared(repo: Path) -> None:
    as_candidate(repo)
    source = dev_workspace(repo, "0" * 64)
    with pytest.raises(Refusal, match="a released version must never change"):
        promote_with(repo, source)
    assert source.registry("amlopsreg").models == {}
