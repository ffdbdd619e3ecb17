"""Fixtures for driving the real azure-ai-ml SDK against the local control plane.

One server per test module (a fresh state dir), always stopped in teardown with a check that no serving
process survives it. Served-model environments are cached across tests and runs in
`$AMLOPS_ENV_CACHE` or `~/.cache/amlops/envs`."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from amlops.local import server
from amlops.local.client import LocalAdmin, ml_client
from amlops.local.environments import default_env_cache


def processes_of(state_dir: Path) -> list[int]:
    """Live processes that belong to a state dir: the server and its serving processes."""
    found = []
    needle = str(state_dir).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            if stat.split(")")[-1].split()[0] == "Z":
                continue
            if needle in (proc / "environ").read_bytes() or needle in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return [p for p in found if p != os.getpid()]


def _describe(pid: int) -> str:
    try:
        return f"{pid} " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return f"{pid} (gone)"


@pytest.fixture(scope="session")
def env_cache() -> Path:
    return default_env_cache()


class Local:
    """A running control plane for a test module, with helpers to write small test assets."""

    def __init__(self, state_dir: Path, assets: Path, env_cache: Path) -> None:
        self.state_dir, self.assets, self.env_cache = state_dir, assets, env_cache
        self.conn = server.start(state_dir, env_cache=env_cache)
        self.admin = LocalAdmin(self.conn)

    def restart(self) -> None:
        """Stop, check nothing of the state dir is left, start again: started even when the check fails, so the
        module's later tests get their control plane."""
        server.stop(self.state_dir)
        left = processes_of(self.state_dir)
        self.conn = server.start(self.state_dir, port=self.conn.port, env_cache=self.env_cache)
        self.admin = LocalAdmin(self.conn)
        assert left == [], f"left running after stop: {[_describe(pid) for pid in left]}"

    def client(self, workspace: str | None = None, registry: str | None = None):
        return ml_client(self.conn, workspace, registry=registry)

    def model_dir(self, name: str = "v1", factor: float = 2) -> Path:
        """A model folder holding one JSON file, like the project's churn model."""
        path = self.assets / "models" / f"{name}-{factor}" / name
        path.mkdir(parents=True, exist_ok=True)
        (path / "weights.json").write_text(json.dumps({"factor": factor}))
        return path

    def code_dir(self, body: str | None = None, name: str = "score") -> Path:
        """A scoring script folder (stdlib only). The default multiplies `data` by the model's factor
        and reports `WHO` (set per deployment) so tests see which deployment answered."""
        path = self.assets / "code" / name
        path.mkdir(parents=True, exist_ok=True)
        (path / "score.py").write_text(
            textwrap.dedent(
                body
                or """
            import glob, json, os
            factor = None

            def init():
                global factor
                [weights] = glob.glob(os.path.join(os.environ["AZUREML_MODEL_DIR"], "*", "weights.json"))
                factor = json.load(open(weights))["factor"]

            def run(raw):
                return {"y": [x * factor for x in json.loads(raw)["data"]], "who": os.environ.get("WHO")}
        """
            )
        )
        return path

    def conda_file(self) -> Path:
        """The smallest environment: the inference server only (python pin dropped by the policy)."""
        path = self.assets / "conda.yml"
        path.write_text("name: t\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - azureml-inference-server-http\n")
        return path

    def deployment(self, endpoint: str, name: str, model: str, **kwargs):
        """A ManagedOnlineDeployment with the test scoring script and the minimal environment."""
        from azure.ai.ml.entities import CodeConfiguration, Environment, ManagedOnlineDeployment

        return ManagedOnlineDeployment(
            name=name,
            endpoint_name=endpoint,
            model=model,
            code_configuration=kwargs.pop("code_configuration", None)
            or CodeConfiguration(code=str(self.code_dir()), scoring_script="score.py"),
            environment=kwargs.pop("environment", None)
            or Environment(conda_file=str(self.conda_file()), image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"),
            instance_type="Standard_DS3_v2",
            instance_count=1,
            environment_variables={"WHO": name},
            **kwargs,
        )

    def serving_processes(self) -> list[int]:
        return [p for p in processes_of(self.state_dir) if p != self.conn.pid]

    def request_file(self, doc: object) -> Path:
        path = self.assets / f"request-{abs(hash(json.dumps(doc)))}.json"
        path.parent.mkdir(parents=True, exist_ok=True)  # the module's first test may write nothing else first
        path.write_text(json.dumps(doc))
        return path


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, env_cache: Path) -> Iterator[Local]:
    base = tmp_path_factory.mktemp("local")
    state_dir = (base / "state").resolve()
    instance = Local(state_dir, base / "assets", env_cache)
    try:
        yield instance
    finally:
        server.stop(state_dir)
        assert processes_of(state_dir) == [], "the control plane left processes behind"
