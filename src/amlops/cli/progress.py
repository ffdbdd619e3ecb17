"""Rollout progress as people expect it from Pulumi and az.

On a terminal, a live table with one row per endpoint, updated as its rollout changes state (building
its environment, provisioning, smoke test, each step with its gate's live counts, retiring). Elsewhere
(CI, a pipe) one timestamped line per change, the gate's counts at most every `GATE_EVERY` seconds so
a long gate does not flood the log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from amlops.rollout.events import Event, Phase
from amlops.state.record import Measurement

#: How the loop's running gate counts begin (its verdicts say "gate passed: ...").
MEASURING = "measuring"

#: Seconds between two lines of one endpoint's gate counts when not on a terminal.
GATE_EVERY = 10.0

_STYLE = {Phase.done: "green", Phase.failed: "red", Phase.lock: "yellow", Phase.gate: "cyan", Phase.retire: "dim"}


@dataclass
class Row:
    phase: Phase
    detail: str
    counts: Measurement | None
    since: float


def counts(m: Measurement | None) -> str:
    if m is None:
        return ""
    p95 = "n/a" if m.p95_ms is None else f"{m.p95_ms:.0f} ms"
    return f"{m.requests} requests, {m.errors} errors, p95 {p95}"


class Progress:
    """The listener `apply` and `rollback` report to; a context manager around the rollout."""

    def __init__(self, console: Console, live: bool | None = None, clock: Callable[[], float] = time.time) -> None:
        self.console, self.clock = console, clock
        self.started = clock()
        self.rows: dict[str, Row] = {}
        self._lock = threading.Lock()
        self._gate_said: dict[str, float] = {}
        on_terminal = console.is_terminal if live is None else live
        self._live = (
            Live(console=console, get_renderable=self._table, refresh_per_second=4, redirect_stdout=False)
            if on_terminal
            else None
        )

    def __enter__(self) -> Progress:
        if self._live:
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._live:
            self._live.stop()

    def __call__(self, event: Event) -> None:
        with self._lock:
            now = self.clock()
            self.rows[event.endpoint] = Row(event.phase, event.detail, event.counts, now)
            if self._live:
                self._live.refresh()
            elif self._worth_a_line(event, now):
                self.console.print(self._line(event, now), markup=False, highlight=False)

    def _worth_a_line(self, event: Event, now: float) -> bool:
        """Every change of state; a gate's running counts only every GATE_EVERY seconds."""
        if event.phase is not Phase.gate or not event.detail.startswith(MEASURING):
            return True
        if now - self._gate_said.get(event.endpoint, 0.0) < GATE_EVERY:
            return False
        self._gate_said[event.endpoint] = now
        return True

    def _line(self, event: Event, now: float) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(now))
        figures = f" [{counts(event.counts)}]" if event.counts and event.detail.startswith(MEASURING) else ""
        return f"{stamp} {now - self.started:6.1f}s {event.endpoint:>14} {event.phase.value:<16} {event.detail}{figures}"

    def _table(self) -> Table:
        table = Table("endpoint", "state", "detail", "gate", "for", box=None, header_style="bold")
        now = self.clock()
        for name, row in sorted(self.rows.items()):
            detail = row.detail.splitlines()[0] if row.detail else ""
            table.add_row(
                name,
                Text(row.phase.value, style=_STYLE.get(row.phase, "")),
                Text(detail[:100]),
                counts(row.counts),
                f"{now - row.since:.0f}s",
            )
        return table
