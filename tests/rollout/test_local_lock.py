"""The endpoint lock is exclusive for the whole rollout, against the local control plane through the SDK:
with a lock that lives shorter than a deployment takes to provision, a second apply started meanwhile
never writes while the first one runs (the first renews its lock while it waits)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from plane_support import Plane, bump_churn, make_repo

from amlops.rollout.apply import ApplyResult, apply
from amlops.rollout.loop import Settings
from amlops.state import record

pytestmark = pytest.mark.slow

# Seconds. The lock outlives any one call here (its holder renews it between calls), and grows to three times
# the slowest endpoint write (under a second: they keep the plane's 0.2 s); a deployment's provisioning alone
# takes three times longer, so only renewing keeps the lock while it waits.
LOCK_TTL = 4
DEPLOYMENT_PROVISIONING = 12
PROVISIONING = 2  # every write's, for the restart below
DOWNTIME = 8  # seconds: azure-core gives a lost connection up after 3 retries, 0 + 1.6 + 3.2 s apart

WRITES = ("put_endpoint", "begin_deployment", "delete_deployment")


def counted_apply(plane: Plane, root: Path, who: str, log: list[tuple[float, str, str]], lock_wait: float) -> ApplyResult:
    """One apply, as `amlops apply` makes it, with each write it sends logged under `who`."""
    session = plane.session(root)
    workspace = session.workspace
    for name in WRITES:
        method = getattr(workspace, name)

        def logged(*args: object, _method=method, _name=name) -> object:
            log.append((time.monotonic(), who, _name))
            return _method(*args)

        setattr(workspace, name, logged)
    settings = Settings(poll_seconds=0.3, gate_timeout=60, lock_settle=0.1, lock_ttl=LOCK_TTL, lock_wait=lock_wait)
    return apply(
        session.context(lambda event: plane.events.append((time.time(), f"{who}:{event.endpoint}", str(event))), settings),
        session.plan(),
    )


def test_two_applies_never_both_write_even_when_provisioning_outlives_the_lock(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    bump_churn(root)
    plane.admin.add_faults(deployment_delay_s=DEPLOYMENT_PROVISIONING)
    log: list[tuple[float, str, str]] = []
    results: dict[str, ApplyResult] = {}
    first = threading.Thread(target=lambda: results.setdefault("A", counted_apply(plane, root, "A", log, 0)))
    first.start()
    deadline = time.monotonic() + 60
    while not (began := [t for t, who, what in log if who == "A" and what == "begin_deployment"]):
        assert time.monotonic() < deadline and first.is_alive(), "A never began its deployment"
        time.sleep(0.1)
    live = plane.live("churn")
    held = record.Lock.decode(live.tags.get(record.LOCK) if live else None)
    assert held is not None, "A holds no lock"
    time.sleep(max(0.0, held.expires - time.time()) + 1)  # past the lock as A wrote it: only renewing keeps it
    assert time.monotonic() - began[0] < DEPLOYMENT_PROVISIONING, "the deployment provisioned within the lock's life"
    results["B"] = counted_apply(plane, root, "B", log, lock_wait=120)  # B waits for the lock, polling
    first.join(180)
    assert results["A"].ok, results["A"].failures
    a = [t for t, who, _ in log if who == "A"]
    b = [t for t, who, _ in log if who == "B"]
    assert b and min(b) > max(a), f"B wrote while A held the endpoint: {log}"
    assert results["B"].ok, results["B"].failures  # then B found the rollout done, and wrote only its lock and record
    assert {what for _, who, what in log if who == "B"} == {"put_endpoint"}


def test_a_control_plane_restart_mid_rollout_stops_or_continues_but_never_rolls_back(plane: Plane, tmp_path: Path):
    """The control plane goes down while a new deployment is created, for longer than the SDK retries a lost
    connection, and comes back: the apply that was running says it stopped and what it left (or rides it out);
    it never reports a failure of the deployment or its smoke test, and apply again converges."""
    from amlops.local import server
    from amlops.local.environments import default_env_cache

    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    bump_churn(root)
    plane.admin.add_faults(provisioning_delay_s=4)
    log: list[tuple[float, str, str]] = []
    results: dict[str, ApplyResult] = {}
    first = threading.Thread(target=lambda: results.setdefault("A", counted_apply(plane, root, "A", log, 0)))
    first.start()
    deadline = time.monotonic() + 60
    while not any(what == "begin_deployment" for _, _, what in log):
        assert time.monotonic() < deadline and first.is_alive(), "A never began its deployment"
        time.sleep(0.1)
    server.stop(plane.state_dir)
    time.sleep(DOWNTIME)  # longer than azure-core's connection retries
    server.start(plane.state_dir, provisioning_delay=0.2, env_cache=default_env_cache())
    first.join(300)
    a = results["A"]
    assert not a.rolled_back, a.failures
    assert a.ok or set(a.stopped) == {"churn"}, a.failures
    again = plane.apply(root)
    assert again.ok, again.failures
    live = plane.live("churn")
    assert live is not None and live.tags[record.ENDPOINT_RELEASE] == plane.session(root).release.endpoint("churn").id
