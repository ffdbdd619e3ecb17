"""Fault injection, so tests and benchmarks can watch clients cope with what Azure sometimes does:
failed or slow provisioning, throttled (429) or unavailable (503) ARM calls, slow or failing models.

Shares are applied deterministically (an accumulator, not a coin): a rate of 0.25 hits exactly every
fourth eligible call, so tests can assert exact counts."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any


class Share:
    """Deterministic 'every 1/rate-th call' selector."""

    def __init__(self) -> None:
        self._acc: dict[str, float] = {}

    def hit(self, key: str, rate: float) -> bool:
        if rate <= 0:
            return False
        acc = self._acc.get(key, 0.0) + rate
        hit = acc >= 1.0 - 1e-9
        self._acc[key] = acc - 1.0 if hit else acc
        return hit

    def reset(self) -> None:
        self._acc.clear()


@dataclass
class ArmFault:
    """Answer a share of ARM calls with `status` (429 carries Retry-After)."""

    status: int = 429
    rate: float = 1.0
    retry_after: float = 1
    methods: list[str] | None = None  # None: every method
    route_contains: str | None = None  # e.g. "onlineEndpoints"
    remaining: int | None = None  # stop after this many injected answers


@dataclass
class ScoringFault:
    """Slow down or fail one deployment's scoring (endpoint/deployment None: any)."""

    endpoint: str | None = None
    deployment: str | None = None
    workspace: str | None = None
    latency_ms: float = 0
    error_rate: float = 0
    status: int = 500


@dataclass
class FaultSettings:
    fail_next_deployments: int = 0
    fail_message: str = "Injected fault: deployment provisioning failed."
    provisioning_delay_s: float | None = None  # overrides the server's configured delay
    deployment_delay_s: float | None = None  # overrides both, for a deployment's provisioning alone
    arm: list[ArmFault] = field(default_factory=list)
    scoring: list[ScoringFault] = field(default_factory=list)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._share = Share()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._settings)

    def clear(self) -> None:
        with self._lock:
            self._settings = FaultSettings()
            self._share.reset()

    def update(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Merge an admin request: scalar fields replace, `arm`/`scoring` rules are appended."""
        with self._lock:
            s = self._settings
            if "fail_next_deployments" in doc:
                s.fail_next_deployments = int(doc["fail_next_deployments"])
            if "fail_message" in doc:
                s.fail_message = str(doc["fail_message"])
            for key in ("provisioning_delay_s", "deployment_delay_s"):
                if key in doc:
                    setattr(s, key, None if doc[key] is None else float(doc[key]))
            s.arm.extend(ArmFault(**rule) for rule in doc.get("arm", []))
            s.scoring.extend(ScoringFault(**rule) for rule in doc.get("scoring", []))
        return self.snapshot()

    def take_deployment_failure(self) -> str | None:
        with self._lock:
            if self._settings.fail_next_deployments <= 0:
                return None
            self._settings.fail_next_deployments -= 1
            return self._settings.fail_message

    def provisioning_delay(self, default: float, deployment: bool = False) -> float:
        """How long a write takes to provision; `deployment`: a deployment's create or update."""
        with self._lock:
            s = self._settings
            if deployment and s.deployment_delay_s is not None:
                return s.deployment_delay_s
            return default if s.provisioning_delay_s is None else s.provisioning_delay_s

    def arm_fault(self, method: str, route: str) -> ArmFault | None:
        with self._lock:
            for i, rule in enumerate(self._settings.arm):
                if rule.methods and method not in rule.methods:
                    continue
                if rule.route_contains and rule.route_contains.lower() not in route.lower():
                    continue
                if rule.remaining is not None and rule.remaining <= 0:
                    continue
                if self._share.hit(f"arm{i}", rule.rate):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None

    def scoring_fault(self, workspace: str, endpoint: str, deployment: str) -> tuple[float, int | None]:
        """(added latency in ms, error status to answer or None) for one scoring request."""
        latency, status = 0.0, None
        with self._lock:
            for i, rule in enumerate(self._settings.scoring):
                if any(
                    want is not None and want != have
                    for want, have in ((rule.workspace, workspace), (rule.endpoint, endpoint), (rule.deployment, deployment))
                ):
                    continue
                latency += rule.latency_ms
                if status is None and self._share.hit(f"score{i}/{workspace}/{endpoint}/{deployment}", rule.error_rate):
                    status = rule.status
        return latency, status
