"""`apply` of the sample repository against the in-memory workspace: models, endpoints, serverless, no-op."""

from __future__ import annotations

from pathlib import Path

import pytest
from memory_support import SETTINGS, FakeClock
from sample_support import SAMPLE_FOLDERS

from amlops.rollout.apply import Context, Refused, apply
from amlops.rollout.plan import models_to_check, plan
from amlops.rollout.session import load_release
from amlops.state import record
from amlops.state.record import Lineage
from amlops.workspace.memory import MemoryWorkspace

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample():
    return load_release(REPO, "dev")


def run(workspace: MemoryWorkspace, sample) -> tuple[object, object]:
    repo, release = sample
    pins = [(p.name, p.version) for p in models_to_check(release)]
    wanted = plan(release, workspace.observe(release.endpoints, pins))
    ctx = Context(workspace, repo, release, Lineage("dev", release.id, "c" * 40), SETTINGS, clock=FakeClock())
    return wanted, apply(ctx, wanted)


def test_a_fresh_apply_serves_the_release_and_a_second_one_writes_nothing(sample) -> None:
    workspace = MemoryWorkspace("dev")
    first, result = run(workspace, sample)
    assert result.ok and sorted(result.registered) == ["churn:1", "credit-risk:1", "ticket-triage:1"]
    # The flow endpoint's evaluation gate ran; its first rollout has no live model to compare with, so it passes.
    (evaluated,) = [o.evaluated for o in result.outcomes if o.evaluated is not None]
    assert (evaluated.candidate, evaluated.live, evaluated.passed) == ("ticket-triage:1", None, True)
    repo, release = sample
    for name in release.endpoints:
        tags = workspace.tags(name)
        assert tags[record.ENDPOINT_RELEASE] == release.endpoint(name).id and record.LOCK not in tags
        assert tags[record.COMMIT] == "c" * 40
    assert set(workspace.serverless) == set(release.serverless)
    assert (
        workspace.models[("churn", "1")][record.CONTENT_HASH] == release.endpoints["churn"].deployments["main"].model.content_hash
    )
    writes = len(workspace.writes)
    again, result = run(workspace, sample)
    assert not again.changed and result.ok and len(workspace.writes) == writes


def test_different_bytes_under_a_registered_version_are_refused_before_any_write(sample) -> None:
    workspace = MemoryWorkspace("dev")
    workspace.models[("churn", "1")] = {record.CONTENT_HASH: "0" * 64}
    with pytest.raises(Refused, match="model churn:1 is registered with content 000000000000"):
        run(workspace, sample)
    assert workspace.writes == []


def test_a_change_of_the_endpoint_alone_is_applied_in_one_write_of_the_whole_file(sample, tmp_path: Path) -> None:
    import shutil

    workspace = MemoryWorkspace("dev")
    run(workspace, sample)
    for folder in SAMPLE_FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder)
    path = tmp_path / "endpoints/churn/endpoint.yml"
    path.write_text(path.read_text() + "public_network_access: disabled\n")
    changed = load_release(tmp_path, "dev")
    writes = len(workspace.writes)
    wanted, result = run(workspace, changed)
    assert result.ok and [e.name for e in wanted.changed_endpoints] == ["churn"]
    spec = workspace.endpoints["churn"].spec
    assert spec.source == path  # the SDK workspace loads this file whole: public_network_access included
    assert spec.tags[record.ENDPOINT_SETTINGS] == changed[1].endpoints["churn"].settings_hash
    assert spec.tags[record.ENDPOINT_RELEASE] == changed[1].endpoint("churn").id
    assert len(workspace.writes) - writes <= 3  # lock, the final write (settings, record, lock released)
    again, _ = run(workspace, changed)
    assert not again.changed
