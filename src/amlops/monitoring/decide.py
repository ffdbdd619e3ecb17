"""What to do about each model monitor, pure: from its latest run and the runs that already answered one.

A monitor whose latest completed run breached starts its `on_breach` job once: the run it starts carries the
monitor run's name in a tag (`amlops.answers`), so the workspace itself records that the breach was answered
and a second `amlops monitor` starts nothing. Only the latest run counts: an older breach that a newer,
healthy run followed is over.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from amlops.workspace.interface import MonitorRun

ANSWERS = "amlops.answers"  # tag on a run a breach started: the monitor run it answers


class Action(str, Enum):
    start = "start"  # submit the on_breach job
    answered = "answered"  # a run already answers this breach
    breached = "breached"  # breached, but the environment names no job to start
    healthy = "healthy"
    waiting = "waiting"  # the latest run has not completed (or there is none yet)


@dataclass(frozen=True)
class Monitor:
    """A model monitor of an environment: its file's stem, its name in the workspace, what a breach starts."""

    name: str
    azure_name: str
    on_breach: str | None


@dataclass(frozen=True)
class Verdict:
    monitor: Monitor
    action: Action
    latest: MonitorRun | None = None
    answered_by: str | None = None  # the run that answers the breach


def decide(monitors: list[Monitor], latest: dict[str, MonitorRun | None], answers: dict[str, str]) -> list[Verdict]:
    """`latest`: per monitor (Azure name) its newest run; `answers`: monitor run -> the run started for it."""
    verdicts = []
    for monitor in monitors:
        run = latest.get(monitor.azure_name)
        if run is None or run.status != "Completed":
            verdicts.append(Verdict(monitor, Action.waiting, run))
        elif not run.breached:
            verdicts.append(Verdict(monitor, Action.healthy, run))
        elif run.run in answers:
            verdicts.append(Verdict(monitor, Action.answered, run, answers[run.run]))
        elif monitor.on_breach is None:
            verdicts.append(Verdict(monitor, Action.breached, run))
        else:
            verdicts.append(Verdict(monitor, Action.start, run))
    return verdicts
