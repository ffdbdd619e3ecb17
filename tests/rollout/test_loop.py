"""The rollout loop against the in-memory workspace: every path, in milliseconds.

The twin refuses what Azure refuses (traffic to missing deployments, mirror to a live deployment,
deleting a deployment that takes traffic), so a passing test also says no write broke those rules.
"""

from __future__ import annotations

import pytest
from memory_support import SETTINGS, FakeClock, azure_name, loop, serving, target

from amlops.manifests.environment import Gate, Step, Strategy
from amlops.rollout.lock import EndpointBusy, LockLost
from amlops.rollout.loop import RolloutFailed
from amlops.state import record
from amlops.state.record import Lock, Measurement, Previous, RolloutRecord, Status
from amlops.workspace.memory import Killed, MemoryWorkspace

OLD, NEW = azure_name("1"), azure_name("2")
BAD = Measurement(100, 50, 20.0)


def rollout_record(workspace: MemoryWorkspace) -> RolloutRecord:
    found = RolloutRecord.decode(workspace.tags("churn").get(record.ROLLOUT))
    assert found is not None
    return found


def assert_serves(workspace: MemoryWorkspace, version: str, status: Status = Status.rolled_out) -> None:
    """Converged: one deployment, all traffic, no mirror, the release recorded, the lock given back."""
    live = workspace.endpoint("churn")
    assert live is not None
    assert live.traffic == {azure_name(version): 100} and live.mirror_traffic == {}
    assert set(live.deployments) == {azure_name(version)}
    assert live.tags[record.ENDPOINT_RELEASE] == f"release{version}"
    assert record.LOCK not in live.tags
    assert rollout_record(workspace).status is status


def test_a_new_endpoint_takes_all_traffic_in_one_write_after_its_smoke_test() -> None:
    workspace, events = MemoryWorkspace("test"), []
    outcome = loop(workspace, target("1"), FakeClock(), events).run()
    assert outcome.release == "release1"
    assert_serves(workspace, "1")
    assert workspace.writes == ["put endpoint churn", f"begin deployment churn/{OLD}", "put endpoint churn"]
    assert any(e.startswith(f"smoke test of {OLD} passed") for e in events)


def test_a_bump_moves_traffic_by_steps_each_gated_then_retires_the_old_deployment() -> None:
    workspace, clock = serving("1")
    seen: list[tuple[dict[str, int], dict[str, int]]] = []
    workspace.on_write.append(
        lambda: seen.append((workspace.endpoints["churn"].spec.traffic, workspace.endpoints["churn"].spec.mirror))
    )
    outcome = loop(workspace, target("2"), clock).run()
    assert_serves(workspace, "2")
    steps = [s for s in seen if s[0] or s[1]]
    assert steps[0][0] == {OLD: 100} and (steps[2][0], steps[2][1]) == ({OLD: 100}, {NEW: 20})
    assert ({OLD: 50, NEW: 50}, {}) in steps and ({NEW: 100}, {}) in steps
    assert [m.step for m in outcome.measured] == [0, 1, 2] and all(m.passed for m in outcome.measured)
    previous = Previous.decode(workspace.tags("churn")[record.PREVIOUS])
    assert previous == Previous("release1", "commit1")
    assert workspace.writes[-2:] == [f"delete deployment churn/{OLD}", "put endpoint churn"]  # retired once off traffic


@pytest.mark.parametrize("failing_step", [0, 1, 2])
def test_a_failed_gate_at_any_step_puts_traffic_back_and_removes_the_new_deployment(failing_step: int) -> None:
    workspace, clock = serving("1")
    strategy_steps = {0: "mirror", 1: "weight", 2: "weight"}

    def degrade() -> None:  # the new deployment starts failing once the failing step's traffic is set
        rec = RolloutRecord.decode(workspace.endpoints["churn"].spec.tags.get(record.ROLLOUT))
        if rec and rec.status is Status.running and rec.step == failing_step:
            workspace.metrics[NEW] = BAD

    workspace.on_write.append(degrade)
    with pytest.raises(
        RolloutFailed, match=f"gate failed at step {failing_step + 1} \\({strategy_steps[failing_step]}"
    ) as failed:
        loop(workspace, target("2"), clock).run()
    assert [m.passed for m in failed.value.measured] == [True] * failing_step + [False]
    assert_serves(workspace, "1", Status.aborted)
    assert "error rate 50.0%" in workspace.tags("churn")[record.REASON]


def test_a_failed_smoke_test_changes_no_traffic() -> None:
    workspace, clock = serving("1")
    workspace.failing_smoke.add(NEW)
    with pytest.raises(RolloutFailed, match="smoke test of main-v2 failed: HTTP 500"):
        loop(workspace, target("2"), clock).run()
    assert_serves(workspace, "1", Status.aborted)
    assert workspace.endpoints["churn"].spec.traffic == {OLD: 100}


def test_a_deployment_that_fails_to_provision_is_removed_and_reported() -> None:
    workspace, clock = serving("1")
    workspace.failing_deployments.add(NEW)
    with pytest.raises(RolloutFailed, match="deployment main-v2 failed: provisioning ended Failed"):
        loop(workspace, target("2"), clock).run()
    assert_serves(workspace, "1", Status.aborted)


def test_a_failed_deployment_left_by_an_earlier_apply_is_created_again() -> None:
    workspace, clock = serving("1")
    workspace.failing_deployments.add(NEW)
    with pytest.raises(RolloutFailed):
        loop(workspace, target("2"), clock).run()
    workspace.failing_deployments.clear()
    loop(workspace, target("2"), clock).run()
    assert_serves(workspace, "2")


def _full_rollout_writes() -> int:
    workspace, clock = serving("1")
    loop(workspace, target("2"), clock).run()
    return len(workspace.writes)


@pytest.mark.parametrize("kill_after", range(1, _full_rollout_writes() + 1))
def test_killed_after_any_write_the_next_run_converges(kill_after: int) -> None:
    workspace, clock = serving("1")
    workspace.kill_after = kill_after
    with pytest.raises(Killed):
        loop(workspace, target("2"), clock).run()
    clock.sleep(SETTINGS.lock_ttl + 1)  # the dead run's lock expires
    loop(workspace, target("2"), clock).run()
    assert_serves(workspace, "2")


@pytest.mark.parametrize("kill_after", range(1, 6))
def test_killed_while_undoing_a_failed_gate_the_next_run_ends_undone(kill_after: int) -> None:
    workspace, clock = serving("1")
    workspace.metrics[NEW] = BAD
    with pytest.raises(RolloutFailed):
        loop(workspace, target("2"), clock).run()
    aborted_writes = len(workspace.writes)
    workspace, clock = serving("1")
    workspace.metrics[NEW] = BAD
    workspace.kill_after = min(kill_after, aborted_writes)
    with pytest.raises((Killed, RolloutFailed)):
        loop(workspace, target("2"), clock).run()
    clock.sleep(SETTINGS.lock_ttl + 1)
    with pytest.raises(RolloutFailed):
        loop(workspace, target("2"), clock).run()
    assert_serves(workspace, "1", Status.aborted)


def test_a_resumed_rollout_continues_at_its_recorded_step() -> None:
    workspace, clock = serving("1")
    workspace.kill_after = 5  # lock, create, step 1 (mirror), step 2 (weight 50), and the lock renewed... stopped
    with pytest.raises(Killed):
        loop(workspace, target("2"), clock).run()
    step = rollout_record(workspace).step
    assert step >= 0
    clock.sleep(SETTINGS.lock_ttl + 1)
    events: list[str] = []
    outcome = loop(workspace, target("2"), clock, events).run()
    assert f"resuming the rollout at step {step + 1}" in events
    assert [m.step for m in outcome.measured][-1] == 2
    assert_serves(workspace, "2")


def test_a_lost_lock_stops_the_rollout_before_its_next_write() -> None:
    workspace, clock = serving("1")
    stolen: list[int] = []

    def steal() -> None:
        if len(workspace.writes) == 3 and not stolen:
            stolen.append(len(workspace.writes))
            workspace.steal_lock("churn")

    workspace.on_write.append(steal)
    with pytest.raises(LockLost, match="elsewhere/1/stolen"):
        loop(workspace, target("2"), clock).run()
    assert len(workspace.writes) == 3  # nothing written after the lock changed hands
    assert Lock.decode(workspace.tags("churn")[record.LOCK]) == Lock("elsewhere/1/stolen", 2**31)


def test_a_held_lock_refuses_a_second_apply() -> None:
    workspace, clock = serving("1")
    workspace.steal_lock("churn")
    with pytest.raises(EndpointBusy, match="being rolled out by elsewhere/1/stolen"):
        loop(workspace, target("2"), clock).run()
    assert workspace.writes == []


def test_a_gate_short_of_requests_fails_as_inconclusive_after_its_timeout() -> None:
    workspace, clock = serving("1")
    workspace.metrics[NEW] = Measurement(3, 0, 10.0)
    with pytest.raises(RolloutFailed, match="inconclusive after 30 s: 3 of 10 requests"):
        loop(workspace, target("2"), clock).run()
    assert_serves(workspace, "1", Status.aborted)


def test_a_pause_holds_a_step_and_renews_the_lock() -> None:
    workspace, clock = serving("1")
    paused = Strategy(steps=[Step(weight=50, pause_seconds=100), Step(weight=100)], gate=Gate(min_requests=10))
    renewals: list[int] = []
    workspace.on_write.append(lambda: renewals.append(int(clock.now)))
    started = clock.now
    loop(workspace, target("2", strategy=paused), clock).run()
    assert clock.now - started >= 100
    assert len(renewals) >= 6 + 4  # 6 writes of the rollout, and the lock (TTL 60 s) renewed 4+ times in 100 s
    assert_serves(workspace, "2")


def test_a_scale_changes_the_deployment_in_place() -> None:
    workspace, clock = serving("1")
    loop(workspace, target("1", instances=3), clock).run()
    assert workspace.endpoints["churn"].deployments[OLD].spec.instance_count == 3
    assert workspace.writes == ["put endpoint churn", f"begin deployment churn/{OLD}", "put endpoint churn"]


def test_reverting_mid_rollout_leaves_no_rollout_running() -> None:
    workspace, clock = serving("1")
    workspace.kill_after = 4  # killed at a step of the rollout to churn:2
    with pytest.raises(Killed):
        loop(workspace, target("2"), clock).run()
    assert rollout_record(workspace).status is Status.running
    clock.sleep(SETTINGS.lock_ttl + 1)
    loop(workspace, target("1"), clock).run()  # the manifest reverted to churn:1
    live = workspace.endpoint("churn")
    assert live is not None and live.traffic == {OLD: 100} and set(live.deployments) == {OLD}
    assert rollout_record(workspace).status is not Status.running


def test_a_rollback_target_moves_at_once_without_gates_and_says_so() -> None:
    workspace, clock = serving("1")
    loop(workspace, target("2"), clock).run()
    workspace.metrics[OLD] = BAD  # gates would fail: a rollback does not judge
    one_step = Strategy(steps=[Step(weight=100)])
    rollback = target("1", strategy=one_step, status=Status.rolled_back, reason="rolled back by ada", gates=False)
    loop(workspace, rollback, clock).run()
    assert_serves(workspace, "1", Status.rolled_back)
    assert workspace.tags("churn")[record.REASON] == "rolled back by ada"


def test_a_long_provisioning_renews_the_lock_so_it_never_lapses() -> None:
    workspace, clock = serving("1")
    workspace.provisioning_polls = 300  # reads of Creating, a second apart: minutes, the lock living 60 s
    lapsed: list[float] = []

    def check() -> None:
        lock = Lock.decode(workspace.tags("churn").get(record.LOCK))
        if lock is not None and lock.expires <= clock.now + SETTINGS.lock_ttl / 2:
            lapsed.append(clock.now)

    workspace.on_write.append(check)
    original = workspace.endpoint

    def read(name: str):  # every read while provisioning: the lock must still be valid
        live = original(name)
        lock = Lock.decode(live.tags.get(record.LOCK)) if live else None
        if lock is not None and lock.expires <= clock.now:
            lapsed.append(clock.now)
        return live

    workspace.endpoint = read  # type: ignore[method-assign]
    loop(workspace, target("2"), clock).run()
    assert not lapsed and sum(clock.slept) >= 2 * SETTINGS.lock_ttl  # provisioning outlived the TTL, twice
    assert_serves(workspace, "2")
