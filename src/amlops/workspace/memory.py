"""An in-memory workspace with Azure ML's semantics, for fast tests of the logic above the edge.

It is strict where Azure is (online endpoint traffic rules, deployment lifecycle, tag limits) and
fails on demand (a deployment that fails to provision, a smoke test that fails, a gate's bad
figures, a process killed after its Nth write), so a rollout can be driven through every path in
milliseconds. Sources for the rules:
- traffic: "the sum of traffic ... must be 100" or 0, only to existing deployments, and mirror traffic
  at most 50 % to a deployment that takes no live traffic (learn.microsoft.com/azure/machine-learning/
  how-to-safely-rollout-online-endpoints, "Test the deployment with mirrored traffic").
- a deployment that takes traffic cannot be deleted (same page: "set traffic to 0 % before deleting").
- tags: at most 50 per resource, values of at most 256 characters (learn.microsoft.com/azure/
  azure-resource-manager/management/tag-resources, "Limitations").
Stricter than Azure, on purpose: traffic to a deployment that has not `Succeeded` is refused, since
amlops promises never to send any there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from amlops.state import record
from amlops.state.live import TERMINAL, LiveDeployment, LiveEndpoint, LiveModel, LiveServerless, LiveState
from amlops.state.record import Measurement
from amlops.workspace.interface import (
    Answer,
    DeploymentSpec,
    EndpointSpec,
    ModelSpec,
    ServerlessSpec,
)
from amlops.workspace.memory_autoscale import MemoryAutoscale
from amlops.workspace.memory_evaluation import MemoryEvaluation
from amlops.workspace.memory_schedules import MemorySchedules
from amlops.workspace.memory_training import Refused

__all__ = ["Killed", "MemoryWorkspace", "Refused"]

MAX_TAGS = 50


class Killed(BaseException):
    """The process running amlops died right after a write (raised past every `except Exception`)."""


@dataclass
class _Deployment:
    spec: DeploymentSpec
    state: str = "Creating"
    polls_left: int = 0
    fails: bool = False


@dataclass
class _Endpoint:
    spec: EndpointSpec
    deployments: dict[str, _Deployment] = field(default_factory=dict)


@dataclass
class MemoryLoad:
    sent: int = 0
    failed: int = 0


@dataclass
class MemoryRegistry:
    name: str
    workspace: MemoryWorkspace
    models: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def model_tags(self, name: str, version: str) -> dict[str, str] | None:
        return self.models.get((name, version))

    def share(self, name: str, version: str) -> None:
        tags = self.workspace.models.get((name, version))
        if tags is None:
            raise Refused(f"model {name}:{version} is not in the workspace")
        self.models[(name, version)] = dict(tags)


class MemoryWorkspace(MemoryEvaluation, MemorySchedules, MemoryAutoscale):
    """One environment's workspace, in memory. Knobs a test sets are plain attributes."""

    def __init__(self, environment: str = "test", provisioning_polls: int = 1) -> None:
        super().__init__()
        MemorySchedules.__init__(self)
        MemoryAutoscale.__init__(self)
        self.environment, self.local = environment, False
        self.provisioning_polls = provisioning_polls  # reads of a deployment before it leaves Creating
        self.endpoints: dict[str, _Endpoint] = {}
        self.models: dict[tuple[str, str], dict[str, str]] = {}
        self.serverless: dict[str, ServerlessSpec] = {}
        self.registries: dict[str, MemoryRegistry] = {}
        # Failures on demand.
        self.failing_deployments: set[str] = set()  # Azure names whose provisioning ends Failed
        self.failing_smoke: set[str] = set()  # Azure names that answer the smoke test with 500
        self.unanswered = 0  # scoring requests that get no answer at all (a control plane restarting)
        self.metrics: dict[str, Measurement] = {}  # Azure name -> what the gate reads (default: healthy)
        self.kill_after: int | None = None  # raise Killed right after this many more writes
        self.on_write: list[Callable[[], None]] = []  # run after each write (a test stealing the lock)
        # What happened.
        self.writes: list[str] = []
        self.reads = 0

    # -- reads --------------------------------------------------------------------------------------
    def observe(self, endpoints: Collection[str] = (), models: Collection[tuple[str, str]] = ()) -> LiveState:
        wanted = set(endpoints)
        live = {
            name: self._live(name)
            for name, e in self.endpoints.items()
            if name in wanted or e.spec.tags.get(record.ENVIRONMENT) == self.environment
        }
        found = {key: LiveModel(*key, dict(self.models[key])) for key in models if key in self.models}
        serverless = {n: LiveServerless(n, s.model_id, dict(s.tags)) for n, s in self.serverless.items()}
        self.reads += 2 + len(live) + len(models)
        return LiveState(live, found, serverless)

    def endpoint(self, name: str) -> LiveEndpoint | None:
        self.reads += 2
        return self._live(name) if name in self.endpoints else None

    def logs(self, endpoint: str, deployment: str, lines: int = 20) -> str:
        found = self.endpoints.get(endpoint)
        d = found.deployments.get(deployment) if found else None
        return f"{deployment}: provisioning {d.state}" if d else ""

    def measure(self, endpoint: str, deployments: Sequence[str], since: float) -> Measurement:
        self.reads += 1
        parts = [self.metrics.get(name, Measurement(1000, 0, 10.0)) for name in deployments]
        latencies = [p.p95_ms for p in parts if p.p95_ms is not None]
        return Measurement(sum(p.requests for p in parts), sum(p.errors for p in parts), max(latencies, default=None))

    def invoke(self, endpoint: str, body: bytes, deployment: str | None = None) -> Answer:
        if self.unanswered > 0:
            self.unanswered -= 1
            return Answer(0, "connection refused")
        e = self.endpoints.get(endpoint)
        if e is None or (deployment is not None and deployment not in e.deployments):
            return Answer(404, f"no deployment {deployment} behind {endpoint}")
        if deployment is not None and e.deployments[deployment].state != "Succeeded":
            return Answer(424, f"deployment {deployment} is {e.deployments[deployment].state}")
        if deployment in self.failing_smoke:
            return Answer(500, "scoring failed")
        return Answer(200, '{"result": [0]}')

    @contextmanager
    def load(self, endpoint: str, body: bytes) -> Iterator[MemoryLoad]:
        yield MemoryLoad()

    def model_tags(self, name: str, version: str) -> dict[str, str] | None:
        tags = self.models.get((name, version))
        return None if tags is None else dict(tags)

    def registry(self, name: str) -> MemoryRegistry:
        return self.registries.setdefault(name, MemoryRegistry(name, self))

    # -- writes -------------------------------------------------------------------------------------
    def put_endpoint(self, spec: EndpointSpec) -> None:
        existing = self.endpoints.get(spec.name)
        deployments = existing.deployments if existing else {}
        _check_tags(spec.tags)
        _check_traffic(spec, deployments)
        if existing:
            existing.spec = spec
        else:
            self.endpoints[spec.name] = _Endpoint(spec)
        self._wrote(f"put endpoint {spec.name}")

    def begin_deployment(self, spec: DeploymentSpec) -> None:
        e = self.endpoints.get(spec.endpoint)
        if e is None:
            raise Refused(f"endpoint {spec.endpoint} not found")
        _check_tags(spec.tags)
        self._check_model(spec.model)
        current = e.deployments.get(spec.name)
        if current is not None and current.state not in TERMINAL:
            raise Refused(f"deployment {spec.name} is {current.state}: another operation is in progress")
        state = "Updating" if current is not None else "Creating"
        fails = spec.name in self.failing_deployments
        e.deployments[spec.name] = _Deployment(spec, state, self.provisioning_polls, fails)
        self._wrote(f"begin deployment {spec.endpoint}/{spec.name}")

    def _check_model(self, model: str) -> None:
        """Azure refuses a deployment whose model asset is not registered, in the workspace
        (`azureml:<name>:<version>`) or in a registry (`azureml://registries/<registry>/models/<name>/versions/<version>`):
        azure-ai-ml resolves the id before it sends the deployment (`_operation_orchestrator.get_asset_arm_id`,
        ResourceNotFoundError), and the local control plane answers 404 (`local/arm/deployments.py`)."""
        parts = model.split("/")
        if model.startswith("azureml://registries/") and len(parts) == 8:
            where, known, key = f" in registry {parts[3]}", self.registry(parts[3]).models, (parts[5], parts[7])
        elif model.startswith("azureml:") and model.count(":") == 2:
            _, name, version = model.split(":")
            where, known, key = "", self.models, (name, version)
        else:
            raise Refused(f"model {model!r} is not a model asset id")
        if key not in known:
            raise Refused(f"model {key[0]}:{key[1]} not found{where}")

    def delete_deployment(self, endpoint: str, name: str) -> None:
        e = self.endpoints[endpoint]
        if e.spec.traffic.get(name) or e.spec.mirror.get(name):
            raise Refused(f"deployment {name} takes traffic: set it to 0 before deleting")
        if name not in e.deployments:
            raise Refused(f"deployment {name} not found")
        del e.deployments[name]
        self._wrote(f"delete deployment {endpoint}/{name}")

    def delete_endpoint(self, name: str) -> None:
        del self.endpoints[name]
        self._wrote(f"delete endpoint {name}")

    def register_model(self, spec: ModelSpec) -> None:
        _check_tags(spec.tags)
        self.models[(spec.name, spec.version)] = dict(spec.tags)
        self._wrote(f"register model {spec.name}:{spec.version}")

    def put_serverless(self, spec: ServerlessSpec) -> None:
        self.serverless[spec.name] = spec
        self._wrote(f"put serverless {spec.name}")

    def delete_serverless(self, name: str) -> None:
        del self.serverless[name]
        self._wrote(f"delete serverless {name}")

    # -- helpers ------------------------------------------------------------------------------------
    def tags(self, endpoint: str) -> dict[str, str]:
        return dict(self.endpoints[endpoint].spec.tags)

    def steal_lock(self, endpoint: str, holder: str = "elsewhere/1/stolen") -> None:
        """Another apply takes the endpoint's lock (as after this one's lock expired)."""
        e = self.endpoints[endpoint]
        lock = record.Lock(holder, 2**31).encode()
        e.spec = replace(e.spec, tags={**e.spec.tags, record.LOCK: lock})

    def _live(self, name: str) -> LiveEndpoint:
        e = self.endpoints[name]
        for d in e.deployments.values():  # provisioning advances as it is watched
            if d.state not in TERMINAL:
                d.polls_left -= 1
                if d.polls_left < 0:
                    d.state = "Failed" if d.fails else "Succeeded"
        return LiveEndpoint(
            name=name,
            provisioning_state="Succeeded",
            auth_mode="key",
            traffic=dict(e.spec.traffic),
            mirror_traffic=dict(e.spec.mirror),
            tags=dict(e.spec.tags),
            deployments={
                n: LiveDeployment(n, d.spec.model, d.spec.instance_type, d.spec.instance_count, d.state, dict(d.spec.tags))
                for n, d in e.deployments.items()
            },
            scoring_uri=f"https://{name}.memory/score",
        )

    def _wrote(self, what: str) -> None:
        self.writes.append(what)
        for hook in self.on_write:
            hook()
        if self.kill_after is not None:
            self.kill_after -= 1
            if self.kill_after <= 0:
                self.kill_after = None
                raise Killed(what)


def _check_tags(tags: dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise Refused(f"{len(tags)} tags: Azure allows {MAX_TAGS}")
    for key, value in tags.items():
        if len(value) > record.MAX_TAG:
            raise Refused(f"tag {key} has {len(value)} characters: Azure allows {record.MAX_TAG}")


def _check_traffic(spec: EndpointSpec, deployments: dict[str, _Deployment]) -> None:
    for name in itertools.chain(spec.traffic, spec.mirror):
        if name not in deployments:
            raise Refused(f"traffic to deployment {name}, which does not exist")
    live = {n: s for n, s in spec.traffic.items() if s}
    if live and sum(live.values()) != 100:
        raise Refused(f"traffic sums to {sum(live.values())}: it must be 100 (or 0)")
    for name, share in spec.mirror.items():
        if share > 50:
            raise Refused(f"mirror traffic {share} % to {name}: at most 50")
        if share and live.get(name):
            raise Refused(f"mirror traffic to {name}, which takes live traffic")
    for name in [*live, *(n for n, s in spec.mirror.items() if s)]:
        if deployments[name].state != "Succeeded":
            raise Refused(f"traffic to deployment {name}, which is {deployments[name].state}")
