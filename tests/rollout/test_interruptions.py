"""Every interruption ends clearly: Azure's "not now" (throttling, 5xx, a lost connection) and Ctrl-C stop
a rollout where its record says, undo nothing, and the next apply resumes from there."""

from __future__ import annotations

import _thread
import shutil
from pathlib import Path

import pytest
from memory_support import SETTINGS, FakeClock, azure_name, loop, serving, target
from sample_support import SAMPLE_FOLDERS
from test_apply_memory import run

from amlops.rollout.apply import Context, apply, left_behind
from amlops.rollout.loop import RolloutFailed
from amlops.rollout.plan import models_to_check, plan
from amlops.rollout.session import load_release
from amlops.state import record
from amlops.state.record import Lineage, RolloutRecord, Status
from amlops.state.status import endpoint_status
from amlops.workspace.interface import Unavailable
from amlops.workspace.memory import MemoryWorkspace

REPO = Path(__file__).resolve().parents[2]
NEW = azure_name("2")


def record_of(workspace: MemoryWorkspace) -> RolloutRecord:
    found = RolloutRecord.decode(workspace.tags("churn").get(record.ROLLOUT))
    assert found is not None
    return found


def unavailable_at(workspace: MemoryWorkspace, write: int) -> None:
    """Azure answers 503 (past the SDK's retries) from the `write`-th write on, once."""
    count = [0]

    def hook() -> None:
        count[0] += 1
        if count[0] == write:
            raise Unavailable("Azure ML answered 503: Service Unavailable")

    workspace.on_write.append(hook)


@pytest.mark.parametrize("write", [2, 3, 4, 5])
def test_azure_unavailable_mid_rollout_stops_it_undone_and_the_next_run_resumes(write: int) -> None:
    workspace, clock = serving("1")
    unavailable_at(workspace, write)
    with pytest.raises(Unavailable):
        loop(workspace, target("2"), clock).run()
    assert NEW in workspace.endpoints["churn"].deployments  # nothing undone: no rollback for a "not now"
    assert record.LOCK not in workspace.tags("churn")  # given back, so the next apply need not wait
    workspace.on_write.clear()
    loop(workspace, target("2"), clock).run()
    live = workspace.endpoint("churn")
    assert live is not None and live.traffic == {NEW: 100} and record_of(workspace).status is Status.rolled_out


def test_a_deployment_write_azure_could_not_take_is_not_a_failed_deployment() -> None:
    workspace, clock = serving("1")
    original = workspace.begin_deployment

    def throttled(spec: object) -> None:
        raise Unavailable("Azure ML answered 429: Too Many Requests")

    workspace.begin_deployment = throttled  # type: ignore[method-assign]
    with pytest.raises(Unavailable, match="429"):
        loop(workspace, target("2"), clock).run()
    workspace.begin_deployment = original  # type: ignore[method-assign]
    assert RolloutRecord.decode(workspace.tags("churn").get(record.ROLLOUT)).status is Status.rolled_out  # type: ignore[union-attr]
    loop(workspace, target("2"), clock).run()
    assert record_of(workspace).status is Status.rolled_out and set(workspace.endpoints["churn"].deployments) == {NEW}


def test_no_answer_from_the_scoring_route_is_asked_again_then_stops_not_rolls_back() -> None:
    workspace, clock = serving("1")
    workspace.unanswered = 3  # the control plane coming back: a few requests get no answer
    loop(workspace, target("2"), clock).run()
    assert record_of(workspace).status is Status.rolled_out
    workspace, clock = serving("1")
    workspace.unanswered = 10**6  # still down after smoke_timeout
    with pytest.raises(Unavailable, match="smoke test of main-v2 got no answer"):
        loop(workspace, target("2"), clock).run()
    assert NEW in workspace.endpoints["churn"].deployments and record.LOCK not in workspace.tags("churn")
    workspace.unanswered = 0
    loop(workspace, target("2"), clock).run()
    assert record_of(workspace).status is Status.rolled_out


def test_a_failed_smoke_test_still_rolls_back() -> None:
    workspace, clock = serving("1")
    workspace.failing_smoke.add(NEW)
    with pytest.raises(RolloutFailed, match="smoke test of main-v2 failed: HTTP 500"):
        loop(workspace, target("2"), clock).run()


def bumped(tmp_path: Path) -> Path:
    """The sample repository with churn's deployment changed and three gated steps in dev."""
    for folder in SAMPLE_FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder)
    main = tmp_path / "endpoints/churn/main.yml"
    main.write_text(main.read_text() + "environment_variables:\n  CHURN_THRESHOLD: '0.4'\n")
    dev = tmp_path / "environments/dev.yaml"
    text = dev.read_text()
    assert "    - weight: 100\n" in text
    dev.write_text(text.replace("    - weight: 100\n", "    - mirror: 20\n    - weight: 50\n    - weight: 100\n", 1))
    return tmp_path


def test_ctrl_c_stops_at_the_recorded_step_says_what_it_left_and_a_revert_converges(tmp_path: Path) -> None:
    """Ctrl-C (KeyboardInterrupt in the main thread) mid-rollout; then the manifest is reverted and applied:
    the endpoint serves the original release and its record does not stay 'running'."""
    workspace = MemoryWorkspace("dev")
    original = load_release(REPO, "dev")
    run(workspace, original)
    repo, release = load_release(bumped(tmp_path), "dev")
    ctx = Context(workspace, repo, release, Lineage("dev", release.id, "c" * 40), SETTINGS, clock=FakeClock())
    pins = [(p.name, p.version) for p in models_to_check(release)]
    wanted = plan(release, workspace.observe(release.endpoints, pins))

    def ctrl_c_after_the_first_step() -> None:
        rollout = RolloutRecord.decode(workspace.tags("churn").get(record.ROLLOUT))
        if rollout is not None and rollout.status is Status.running and not ctx.stop.is_set():
            _thread.interrupt_main()  # what Ctrl-C does: KeyboardInterrupt in the main thread
            assert ctx.stop.wait(10), "apply did not pass Ctrl-C on to its rollouts"

    workspace.on_write.append(ctrl_c_after_the_first_step)
    result = apply(ctx, wanted)
    workspace.on_write.clear()
    assert not result.ok and "churn" in result.stopped and "interrupted" in result.failures["churn"]
    assert result.stopped["churn"] == left_behind(workspace, "churn")
    assert result.stopped["churn"].startswith("at step 1 of its rollout; traffic {'main-")
    assert "lock released" in result.stopped["churn"] and not result.rolled_back
    assert record_of(workspace).status is Status.running

    reverted, result = run(workspace, original)
    assert result.ok and [e.name for e in reverted.changed_endpoints] == ["churn"]
    live = workspace.endpoint("churn")
    assert live is not None and live.tags[record.ENDPOINT_RELEASE] == original[1].endpoint("churn").id
    assert record_of(workspace).status is Status.aborted  # superseded by the reverted release: not "running"
    assert endpoint_status(live).healthy
    again, _ = run(workspace, original)
    assert not again.changed


def test_left_behind_says_when_the_endpoint_cannot_be_read() -> None:
    workspace = MemoryWorkspace("dev")

    def down(name: str) -> None:
        raise Unavailable("lost the connection to Azure ML: connection reset")

    workspace.endpoint = down  # type: ignore[method-assign,assignment]
    assert left_behind(workspace, "churn") == "its state could not be read (lost the connection to Azure ML: connection reset)"


def test_a_connection_lost_mid_rollout_leaves_what_follows_the_rollouts_to_the_next_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azure stops answering during a rollout and stays away: apply says what it left, and neither reads nor
    writes the autoscale settings (nor anything else that follows the rollouts) until the next apply."""
    workspace = MemoryWorkspace("dev")
    original = load_release(REPO, "dev")
    run(workspace, original)
    settings = dict(workspace.autoscale)
    assert settings  # dev's churn autoscales
    repo, release = load_release(bumped(tmp_path), "dev")
    ctx = Context(workspace, repo, release, Lineage("dev", release.id, "c" * 40), SETTINGS, clock=FakeClock())
    pins = [(p.name, p.version) for p in models_to_check(release)]
    wanted = plan(release, workspace.observe(release.endpoints, pins))

    def gone() -> None:
        raise Unavailable("lost the connection to Azure ML: connection refused")

    unavailable_at(workspace, 2)
    monkeypatch.setattr(workspace, "autoscale_settings", gone)  # and it stays away: every later read fails
    result = apply(ctx, wanted)
    assert not result.ok and "churn" in result.stopped and not result.rolled_back
    assert workspace.autoscale == settings
