"""What every test folder shares."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from plane_support import Plane


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first. Under `pytest -n 4` the long ones then start at once and the fast ones fill the
    workers as they free up, instead of a long test starting last and running alone (see `Scheduling`).
    The sort is stable: a module's slow tests stay together."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


#: Tests run by one worker, one after the other: tests/infra's all share the stacks each process evaluates once
#: (`infra_support.stack`, 7 CPU-s for the three); each tests/local module's share its module-scoped control plane.
INFRA, LOCAL = "tests/infra/", "tests/local/"


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `-n` (xdist's `load`): every test is handed out alone, in collection order, a few at a time, except
    the groups of INFRA and LOCAL, handed out whole, largest first. xdist's own `load` gives each worker a quarter of its
    share in one block first: the 95 slow tests sorted to the front went to two workers, one after the other,
    while the other two ran the fast tests and then idled."""
    if config.getvalue("dist") != "load":
        return None  # a --dist the user chose
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::")[0]
            if path.startswith(INFRA):
                return INFRA
            return path if path.startswith(LOCAL) else nodeid

    return Scheduling(config, log)


@pytest.fixture
def shell_env() -> dict[str, str]:
    """The environment of a fresh shell, for `amlops` run as a child process.

    An in-process MLClient records its cloud in `os.environ` (AZUREML_CURRENT_CLOUD); a child that
    inherits it fails to find that cloud, which it never registered. Nor is it a GitHub Actions job,
    even when the tests run in one: a test that wants one says so.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "GITHUB_"))}
    return inherited | {"COLUMNS": "200"}


@pytest.fixture
def amlops_in_process(monkeypatch: pytest.MonkeyPatch) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`amlops ARGS` run in this process (typer's runner) from `cwd`, as `shell_env` runs it in a child: no AZUREML_
    or GITHUB_ variable unless the test sets one, COLUMNS=200, and `env` added. It saves the child's import of
    azure-ai-ml (about 1.7 CPU-s); an exception the command lets out, a traceback for a user, is raised."""
    from typer.testing import CliRunner

    from amlops.cli.main import app

    for name in list(os.environ):
        if name.startswith(("AZUREML_", "GITHUB_")):
            monkeypatch.delenv(name)

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        monkeypatch.chdir(cwd)
        result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture(autouse=True)
def _validate_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own cache of `amlops validate`'s verdicts (children inherit it), so no test is
    answered by another's verdict; tests/manifests/test_validate_cache.py tests the cache itself."""
    monkeypatch.setenv("AMLOPS_VALIDATE_CACHE", str(tmp_path_factory.mktemp("validate-cache")))


@pytest.fixture(autouse=True)
def _unpinned_invoke() -> Iterator[None]:
    """azure-ai-ml 1.35 `online_endpoints.invoke(deployment_name=...)` writes the deployment header into
    a class-level dict (EndpointInvokeFields.DEFAULT_HEADER), pinning every later invoke in the process
    to that deployment (`amlops apply` run in process does, for its test prediction). Undo that leak so
    each test starts unpinned; a test that never loaded the SDK has nothing to undo."""
    yield
    invoke = sys.modules.get("azure.ai.ml.constants._endpoint")
    if invoke is not None:
        invoke.EndpointInvokeFields.DEFAULT_HEADER.pop(invoke.EndpointInvokeFields.MODEL_DEPLOYMENT, None)


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[Plane]:
    """A fresh local control plane in the test's tmp dir, stopped with every serving process afterwards."""
    from plane_support import Plane  # imported here: the SDK is slow to import for tests that need no plane

    from amlops.local import server
    from amlops.local.client import LocalAdmin
    from amlops.local.environments import default_env_cache

    state_dir = (tmp_path / "state").resolve()
    connection = server.start(state_dir, provisioning_delay=0.2, env_cache=default_env_cache())
    try:
        yield Plane(state_dir, LocalAdmin(connection))
    finally:
        server.stop(state_dir)
