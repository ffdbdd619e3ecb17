"""Following a run to its end: its status and its pipeline steps' as they change, its log as it comes.

The SDK's log stream blocks until the run ends, so it runs in a thread of its own while this one
polls the run for its steps. A step that fails has its own log shown: the SDK streams only the
pipeline's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from amlops.workspace.interface import Run, RunStep, Workspace

#: How long the log stream may lag behind the run's end before it is left behind.
STREAM_GRACE = 30.0
#: Seconds between reads of a run in Azure (the local control plane's: `interface.LOCAL_POLL_SECONDS`).
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Watchers:
    status: Callable[[Run], None]
    step: Callable[[RunStep], None]
    log: Callable[[str], None]


def follow(
    workspace: Workspace, name: str, watch: Watchers, poll: float = POLL_SECONDS, sleep: Callable[[float], None] = time.sleep
) -> Run:
    """Watch run `name` until it is Completed, Failed or Canceled; returns it as it ended."""
    streamer = threading.Thread(target=workspace.stream, args=(name, watch.log), name="logs", daemon=True)
    streamer.start()
    status, steps = "", dict[str, str]()
    while True:
        run = workspace.run(name)
        if run is None:
            raise LookupError(f"run {name} not found")
        for step in run.steps:
            if steps.get(step.node) != step.status:
                steps[step.node] = step.status
                watch.step(step)
        if run.status != status:
            status = run.status
            watch.status(run)
        if run.terminal:
            break
        sleep(poll)
    streamer.join(STREAM_GRACE)
    for step in run.steps:
        if step.status == "Failed":
            watch.log(f"--- log of failed step {step.node} ({step.run}) ---\n{workspace.step_log(step.run)}")
    return run
