"""What the control plane counts: every request it answers (per route, reads vs writes, server-side
time), and per online deployment the scoring requests, errors and latencies the rollout side reads as
its gate metrics (the way it reads Azure Monitor in Azure). In memory: a restart starts them afresh."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

READ_METHODS = frozenset({"GET", "HEAD"})
_LOG_SIZE = 5000
_SAMPLES = 100_000


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile, None when there is nothing to rank."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return round(ordered[rank - 1], 3)


@dataclass(frozen=True)
class LoggedRequest:
    ts: float
    kind: str  # "arm" | "blob" | "scoring" | "admin"
    method: str
    route: str  # the route template, e.g. "PUT {ws}/onlineEndpoints/{name}"
    path: str
    api_version: str | None
    status: int
    duration_ms: float
    mutating: bool


class RequestLog:
    """Counters per (kind, method, route) since the last reset, and a bounded log of recent requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._since = time.time()
            self._log: deque[LoggedRequest] = deque(maxlen=_LOG_SIZE)
            self._durations: dict[tuple[str, str, str], list[float]] = {}
            self._statuses: dict[tuple[str, str, str], dict[int, int]] = {}
            self._mutations = 0

    def record(self, entry: LoggedRequest) -> None:
        key = (entry.kind, entry.method, entry.route)
        with self._lock:
            self._log.append(entry)
            self._durations.setdefault(key, []).append(entry.duration_ms)
            statuses = self._statuses.setdefault(key, {})
            statuses[entry.status] = statuses.get(entry.status, 0) + 1
            if entry.kind == "arm" and entry.mutating:
                self._mutations += 1

    def snapshot(self, log_limit: int = 200, kind: str | None = None) -> dict[str, Any]:
        with self._lock:
            totals: dict[str, dict[str, int]] = {}
            routes = []
            for (k, method, route), durations in sorted(self._durations.items()):
                bucket = totals.setdefault(k, {"requests": 0, "reads": 0, "writes": 0})
                bucket["requests"] += len(durations)
                bucket["reads" if method in READ_METHODS else "writes"] += len(durations)
                if kind and k != kind:
                    continue
                routes.append(
                    {
                        "kind": k,
                        "method": method,
                        "route": route,
                        "count": len(durations),
                        "statuses": {str(s): n for s, n in sorted(self._statuses[(k, method, route)].items())},
                        "total_ms": round(sum(durations), 3),
                        "mean_ms": round(sum(durations) / len(durations), 3),
                        "p50_ms": percentile(durations, 50),
                        "p95_ms": percentile(durations, 95),
                        "max_ms": round(max(durations), 3),
                    }
                )
            log = [e.__dict__ for e in self._log if not kind or e.kind == kind][-log_limit:] if log_limit else []
            arm = totals.get("arm", {"requests": 0, "reads": 0, "writes": 0})
            return {
                "since": self._since,
                "now": time.time(),
                "reads": arm["reads"],
                "writes": arm["writes"],
                "mutations": self._mutations,
                "totals": totals,
                "routes": routes,
                "log": log,
            }


@dataclass(frozen=True)
class Sample:
    ts: float
    status: int
    latency_ms: float
    mirrored: bool


def is_error(status: int) -> bool:
    """Server-side failures: 5xx, and 408 (the model ran past request_timeout_ms)."""
    return status >= 500 or status == 408


class ScoringMetrics:
    """Per-deployment scoring samples, keyed by (workspace id, endpoint, deployment)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: dict[tuple[str, str, str], deque[Sample]] = {}
        self._counters: dict[tuple[str, str, str], dict[str, int]] = {}

    def record(self, key: tuple[str, str, str], status: int, latency_ms: float, mirrored: bool) -> None:
        with self._lock:
            self._samples.setdefault(key, deque(maxlen=_SAMPLES)).append(Sample(time.time(), status, latency_ms, mirrored))
            c = self._counters.setdefault(key, {"requests": 0, "errors": 0, "mirrored": 0})
            c["requests"] += 1
            c["errors"] += is_error(status)
            c["mirrored"] += mirrored

    def reset(self, workspace_id: str | None = None, endpoint: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._samples if _matches(k, workspace_id, endpoint)]:
                del self._samples[key]
                self._counters.pop(key, None)

    def summary(self, workspace_id: str, endpoint: str, since: float | None = None) -> dict[str, Any]:
        """Per deployment: counts since `since` (all retained samples if None) and lifetime counters."""
        out: dict[str, Any] = {}
        with self._lock:
            items = [(k, list(v), dict(self._counters[k])) for k, v in self._samples.items()]
        for (ws, ep, dep), samples, counters in items:
            if (ws, ep) != (workspace_id, endpoint):
                continue
            window = [s for s in samples if since is None or s.ts >= since]
            latencies = [s.latency_ms for s in window if not is_error(s.status)]
            statuses: dict[str, int] = {}
            for s in window:
                statuses[str(s.status)] = statuses.get(str(s.status), 0) + 1
            out[dep] = {
                "requests": len(window),
                "errors": sum(is_error(s.status) for s in window),
                "mirrored": sum(s.mirrored for s in window),
                "statuses": statuses,
                "latency_ms": {
                    "p50": percentile(latencies, 50),
                    "p95": percentile(latencies, 95),
                    "max": round(max(latencies), 3) if latencies else None,
                },
                "counters": counters,
            }
        return out


def _matches(key: tuple[str, str, str], workspace_id: str | None, endpoint: str | None) -> bool:
    return (workspace_id is None or key[0] == workspace_id) and (endpoint is None or key[1] == endpoint)
