"""Rollouts against the in-memory workspace: a target made in code, a clock that never sleeps.

A module, not a conftest (see plane_support): tests import what they need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from amlops.manifests.environment import Gate, Step, Strategy
from amlops.release.bundle import DeploymentRelease, ModelPin
from amlops.rollout.decide import Target
from amlops.rollout.loop import EndpointRollout, Rollout, Settings
from amlops.state import record
from amlops.state.record import Lineage
from amlops.workspace.interface import DeploymentSpec
from amlops.workspace.memory import MemoryWorkspace

STEPS = Strategy(
    steps=[Step(mirror=20), Step(weight=50), Step(weight=100)],
    gate=Gate(max_error_rate=0.05, max_latency_p95_ms=500, min_requests=10),
)
SETTINGS = Settings(poll_seconds=1, gate_timeout=30, lock_ttl=60, lock_settle=0)
LINEAGE = Lineage("test", "envrelease", "0" * 40)


@dataclass
class FakeClock:
    """Time that moves only when the loop sleeps: a rollout of many steps takes milliseconds."""

    now: float = 1_000_000.0
    slept: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def deployment(version: str, instances: int = 1) -> DeploymentRelease:
    return DeploymentRelease(
        endpoint="churn",
        name="main",
        model=ModelPin("churn", version, None, f"hash{version}", f"models/churn/v{version}"),
        settings={},
        code_hash=None,
        environment_hash=None,
        instance_type="Standard_DS3_v2",
        instance_count=instances,
        source="endpoints/churn/main.yml",
    )


def azure_name(version: str) -> str:
    return f"main-v{version}"


def target(version: str, strategy: Strategy = STEPS, instances: int = 1, **kwargs: object) -> Rollout:
    """Endpoint churn serving model churn:<version> from deployment main-v<version>."""
    name = azure_name(version)
    spec = DeploymentSpec(
        endpoint="churn",
        name=name,
        source=Path("endpoints/churn/main.yml"),
        model=f"azureml:churn:{version}",
        instance_type="Standard_DS3_v2",
        instance_count=instances,
        tags={record.DEPLOYMENT: "main", record.IDENTITY: f"identity{version}"},
    )
    goal = Target(
        name="churn",
        endpoint_release=f"release{version}",
        deployments={name: deployment(version, instances)},
        traffic={name: 100},
        mirror={},
        strategy=strategy,
        release_tags={record.RELEASE: LINEAGE.release, record.COMMIT: f"commit{version}"},
        **kwargs,  # type: ignore[arg-type]
    )
    return Rollout(goal, Path("endpoints/churn/endpoint.yml"), {name: spec}, b"{}", "test")


def registered(workspace: MemoryWorkspace, rollout: Rollout) -> Rollout:
    """`rollout`, with its models in `workspace` as apply registers them before any rollout (Azure refuses a
    deployment of a model it does not have)."""
    for spec in rollout.deployments.values():
        name, version = spec.model.split(":")[1:]
        workspace.models.setdefault((name, version), {})
    return rollout


def loop(workspace: MemoryWorkspace, rollout: Rollout, clock: FakeClock, events: list[str] | None = None) -> EndpointRollout:
    said = events if events is not None else []
    return EndpointRollout(workspace, registered(workspace, rollout), SETTINGS, lambda e: said.append(str(e)), clock)


def serving(version: str) -> tuple[MemoryWorkspace, FakeClock]:
    """A workspace whose endpoint churn serves churn:<version>, rolled out by amlops."""
    workspace, clock = MemoryWorkspace("test"), FakeClock()
    loop(workspace, target(version), clock).run()
    workspace.writes.clear()
    return workspace, clock
