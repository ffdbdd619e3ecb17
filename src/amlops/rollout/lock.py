"""Who may roll an endpoint out: one apply at a time, recorded in an endpoint tag (see `record.Lock`).

The lock lives in the workspace, not on a CI runner, so applies on different machines exclude each
other. A holder writes its lock, waits a moment and re-reads it: of two applies that wrote at nearly
the same time, only the one whose write landed last still sees itself. A lock expires unless renewed,
and one held by a dead process on this very host is stale at once, so a killed apply does not block
the next one on the same machine.
"""

from __future__ import annotations

import os
import socket
import uuid

from amlops.processes import alive
from amlops.state.record import Lock


class EndpointBusy(Exception):
    """Another apply holds the endpoint."""


def new_holder() -> str:
    return f"{socket.gethostname()[:60]}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def is_stale(lock: Lock, now: float, host: str | None = None) -> bool:
    if lock.expires <= now:
        return True
    holder_host, _, rest = lock.holder.partition("/")
    pid = rest.partition("/")[0]
    return holder_host == (host or socket.gethostname()[:60]) and pid.isdigit() and not alive(int(pid))


class LockLost(Exception):
    """The endpoint's lock passed to another apply while this one held it: this one stopped writing."""
