"""Rollout progress: a live table on a terminal, timestamped lines elsewhere, gate counts throttled in logs."""

from __future__ import annotations

import io
import re

from rich.console import Console

from amlops.cli import progress as module
from amlops.cli.progress import Progress
from amlops.rollout.events import Event, Phase
from amlops.state.record import Measurement


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=160, color_system=None), buffer


def test_off_a_terminal_each_change_is_one_timestamped_line() -> None:
    c, buffer = console(terminal=False)
    with Progress(c) as p:
        p(Event("churn", Phase.deploy, "creating deployment main-1"))
        p(Event("churn", Phase.provision, "main-1: environment env: building with pip: scikit-learn"))
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d +\d+\.\ds +churn provisioning +main-1: environment env: building with pip: scikit-learn", lines[1]
    )


def test_off_a_terminal_a_gate_counts_at_most_every_few_seconds() -> None:
    c, buffer = console(terminal=False)
    clock = iter([100.0, 100.0, 101.0, 100.0 + module.GATE_EVERY + 1, 200.0])  # start, then each event
    p = Progress(c, clock=lambda: next(clock))
    for requests in (1, 2, 3):
        p(Event("churn", Phase.gate, "measuring step 1 (weight 50 %)", Measurement(requests, 0, 10.0)))
    p(Event("churn", Phase.gate, "gate passed: 20 requests", Measurement(20, 0, 10.0)))
    lines = buffer.getvalue().splitlines()
    assert [line.split("(weight 50 %)")[-1] for line in lines[:-1]] == [
        " [1 requests, 0 errors, p95 10 ms]",
        " [3 requests, 0 errors, p95 10 ms]",
    ]
    assert lines[-1].endswith("gate passed: 20 requests")  # a verdict is always said


def test_on_a_terminal_one_row_per_endpoint_shows_its_state_and_counts() -> None:
    c, buffer = console(terminal=True)
    with Progress(c) as p:
        p(Event("churn", Phase.smoke, "smoke testing main-2 with the sample request"))
        p(Event("credit-risk", Phase.gate, "measuring step 2 (weight 50 %)", Measurement(7, 1, 30.0)))
        p(Event("churn", Phase.done, "rolled out"))
    final = buffer.getvalue().rsplit("endpoint", 1)[-1]  # the last frame of the live table
    rows = [line for line in final.splitlines() if line.strip()]
    assert rows[1].split()[:3] == ["churn", "done", "rolled"]
    assert "credit-risk" in rows[2] and "7 requests, 1 errors, p95 30 ms" in rows[2]
