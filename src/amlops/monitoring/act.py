"""`amlops monitor`: observe each model monitor's latest run, decide (pure), start each breach's job once.

The run a breach starts is submitted like `amlops run` submits it (its asset versions must be registered),
tagged with the monitor run it answers, then handed to `hand_off(repository, environment, run name)`:
the seam where the retraining path takes the run on to a branch. It is called once per run started, right
after submission; following the run to its end is the hand-off's business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from amlops.manifests import Repository
from amlops.monitoring.decide import ANSWERS, Action, Monitor, Verdict, decide
from amlops.training.submit import TrainingSession, job_spec
from amlops.workspace.interface import MonitorRun, Run, Workspace

#: What takes a monitor-started run on (`amlops monitor --wait`: follow it, then make its candidate branch).
HandOff = Callable[[Path, str, Run], object]
#: How many of the newest runs are searched for one that answers a breach.
ANSWERS_READ = 200


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    started: Run | None = None


def monitors_of(repo: Repository, environment: str) -> list[Monitor]:
    """The environment's model monitors (its `schedules` that are MonitorSchedules) and their `on_breach` jobs."""
    env = repo.environments[environment].environment
    found = []
    for name in env.schedules:
        file = repo.schedules[name]
        if file.monitor:
            choice = env.monitors.get(name)
            found.append(Monitor(name, file.azure_name, choice.on_breach.run if choice and choice.on_breach else None))
    return found


def latest_runs(workspace: Workspace, monitors: list[Monitor]) -> dict[str, MonitorRun | None]:
    """Each monitor's newest run with its results (what `amlops status` shows)."""
    latest = {}
    for monitor in monitors:
        runs = workspace.monitor_runs(monitor.azure_name, limit=1)
        latest[monitor.azure_name] = runs[0] if runs else None
    return latest


def answered(workspace: Workspace) -> dict[str, str]:
    """Monitor run -> the run started to answer its breach, from the newest runs' tags."""
    return {r.tags[ANSWERS]: r.name for r in workspace.runs(ANSWERS_READ) if ANSWERS in r.tags}


def run_monitors(session: TrainingSession, hand_off: HandOff | None = None) -> list[Outcome]:
    monitors = monitors_of(session.repo, session.training.environment)
    outcomes = []
    for verdict in decide(monitors, latest_runs(session.workspace, monitors), answered(session.workspace)):
        if verdict.action is not Action.start or verdict.latest is None or verdict.monitor.on_breach is None:
            outcomes.append(Outcome(verdict))
            continue
        spec = job_spec(session, verdict.monitor.on_breach, {})
        spec = replace(spec, tags={**spec.tags, ANSWERS: verdict.latest.run})
        started = session.workspace.submit(spec)
        if hand_off is not None:
            hand_off(session.repo.root, session.training.environment, started)
        outcomes.append(Outcome(verdict, started))
    return outcomes
