"""What a rollout tells its caller as it goes: typed events, so a terminal, a log and a CI summary each render them.

The text of an event (`str(event)`) is the line amlops has always printed; the phase and the live
counts let a terminal keep one row per endpoint up to date instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from amlops.state.record import Measurement


class Phase(str, Enum):
    """Where an endpoint's rollout is, in the order a rollout passes through them."""

    model = "registering"  # a model version being registered (endpoint "models")
    lock = "waiting for lock"
    endpoint = "endpoint"  # creating or deleting the endpoint itself
    evaluate = "evaluating"  # the candidate model compared offline with the live one, before any traffic
    deploy = "deploying"  # a deployment created or scaled
    provision = "provisioning"  # waiting for it: building its environment, pulling, starting
    smoke = "smoke test"
    step = "step"  # traffic moved to a step's split
    gate = "gate"  # the step's gate measuring (counts live)
    retire = "retiring"  # an old or failed deployment deleted
    autoscale = "autoscale"  # an Azure Monitor autoscale setting written or deleted, after the rollout
    done = "done"
    failed = "failed"
    warning = "warning"  # something the user should know, that stops nothing
    stopped = "stopped"  # interrupted (Ctrl-C, Azure unavailable): left as recorded, to resume


@dataclass(frozen=True)
class Event:
    endpoint: str
    phase: Phase
    detail: str
    counts: Measurement | None = None  # the gate's live figures, for Phase.gate

    def __str__(self) -> str:
        return self.detail


Events = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The default listener: a library call needs no progress."""
