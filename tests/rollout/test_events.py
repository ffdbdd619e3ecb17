"""The rollout's events as the CLI renders them: a phase per change of state, the gate's live counts, the lock's holder."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from memory_support import SETTINGS, FakeClock, azure_name, registered, serving, target

from amlops.rollout.events import Event, Phase
from amlops.rollout.lock import EndpointBusy
from amlops.rollout.loop import EndpointRollout, RolloutFailed
from amlops.state.record import Measurement
from amlops.workspace.memory import MemoryWorkspace

NEW = azure_name("2")


def run(workspace: MemoryWorkspace, clock: FakeClock, **settings: float) -> list[Event]:
    events: list[Event] = []
    rollout = EndpointRollout(
        workspace, registered(workspace, target("2")), dataclasses.replace(SETTINGS, **settings), events.append, clock
    )
    with contextlib.suppress(RolloutFailed, EndpointBusy):
        rollout.run()
    return events


def test_a_rollout_passes_through_its_phases_in_order() -> None:
    workspace, clock = serving("1")
    phases = [e.phase for e in run(workspace, clock)]
    firsts = [p for i, p in enumerate(phases) if p not in phases[:i]]
    assert firsts == [Phase.deploy, Phase.provision, Phase.smoke, Phase.step, Phase.gate, Phase.retire, Phase.done]


def test_provisioning_says_what_the_deployment_log_says() -> None:
    workspace, clock = serving("1")
    workspace.provisioning_polls = 4  # several reads before it leaves Creating
    said = [e.detail for e in run(workspace, clock) if e.phase is Phase.provision]
    assert said.count(f"{NEW}: {NEW}: provisioning Creating") == 1  # said once, not once per poll


def test_a_waiting_gate_reports_its_live_counts() -> None:
    workspace, clock = serving("1")
    workspace.metrics[NEW] = Measurement(3, 1, 12.0)
    gates = [e for e in run(workspace, clock) if e.phase is Phase.gate and e.counts is not None]
    assert gates and all(e.counts == Measurement(3, 1, 12.0) for e in gates)
    assert gates[0].detail == f"measuring step 1 (mirror 20 % to {NEW})"


def test_waiting_for_a_lock_says_on_whom_and_until_when() -> None:
    workspace, clock = serving("1")
    workspace.steal_lock("churn")
    events = run(workspace, clock, lock_wait=10)
    waits = [e.detail for e in events if e.phase is Phase.lock]
    assert len(waits) == 1  # said once per holder, not once per poll
    assert waits[0].startswith("waiting for the lock held by elsewhere/1/stolen (until ")
    assert "giving up in 10 s" in waits[0]


@pytest.mark.parametrize("phase", list(Phase))
def test_every_event_reads_as_its_text_line(phase: Phase) -> None:
    assert str(Event("churn", phase, "something happened")) == "something happened"
