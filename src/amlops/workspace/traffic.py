"""Synthetic load: the endpoint's sample request, sent through its traffic split while a step runs.

The local control plane has no production traffic, so for `platform: local` the apply itself supplies
the requests its gates judge. The benchmark uses the same load to count requests failed during a
rollout.
"""

from __future__ import annotations

import threading
from types import TracebackType

import requests

from amlops.workspace.transport import session


class SyntheticLoad:
    """Worker threads posting one request body to a scoring URI until stopped; counts outcomes."""

    def __init__(
        self, scoring_uri: str, key: str, body: bytes, workers: int = 2, interval: float = 0.0, verify: str | bool = True
    ) -> None:
        self.scoring_uri, self.body, self.workers, self.interval, self.verify = scoring_uri, body, workers, interval, verify
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.sent = self.failed = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> SyntheticLoad:
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.workers)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                response = session().post(self.scoring_uri, data=self.body, headers=self.headers, timeout=30, verify=self.verify)
                failure = None if response.status_code < 400 else f"{response.status_code}: {response.text[:200]}"
            except requests.RequestException as exc:
                failure = str(exc)[:200]
            with self._lock:
                self.sent += 1
                if failure:
                    self.failed += 1
                    self.failures.append(failure)
            self._stop.wait(self.interval)
