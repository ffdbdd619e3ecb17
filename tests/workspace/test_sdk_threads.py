"""azure-ai-ml's scoring-script check runs one thread at a time once the workspace edge is loaded."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from azure.ai.ml.operations import _batch_deployment_operations, _online_deployment_operations

from amlops.workspace import sdk_threads


def test_the_check_never_runs_in_two_threads_at_once() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def check(_deployment: object) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.01)
        with lock:
            running -= 1

    serialised = sdk_threads._one_at_a_time(check)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(serialised, range(32)))
    assert most == 1


def test_the_deployment_operations_call_the_serialised_check() -> None:
    import amlops.workspace.sdk  # noqa: F401  (installs it)

    sdk_threads.install()  # a second install wraps nothing twice
    for module in (_online_deployment_operations, _batch_deployment_operations):
        check = module.validate_scoring_script
        assert check.__amlops_serialised__ and not getattr(check.__wrapped__, "__amlops_serialised__", False)
