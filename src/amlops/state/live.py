"""Live state: what a workspace actually has, read by `amlops.workspace` into plain dataclasses.

The plan and the strategy compare these with a release; keeping them free of SDK types lets both be
tested without a server and keeps the SDK at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUCCEEDED = "Succeeded"
#: Provisioning states after which a deployment will not change on its own.
TERMINAL = ("Succeeded", "Failed", "Canceled")


@dataclass(frozen=True)
class LiveDeployment:
    name: str  # the Azure name, `<name>-<spec hash>`
    model: str | None  # the model's asset id as Azure reports it
    instance_type: str
    instance_count: int
    provisioning_state: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.provisioning_state == SUCCEEDED


@dataclass(frozen=True)
class LiveEndpoint:
    name: str
    provisioning_state: str
    auth_mode: str
    traffic: dict[str, int]  # by Azure deployment name, zero shares left out
    mirror_traffic: dict[str, int]
    tags: dict[str, str]
    deployments: dict[str, LiveDeployment]
    scoring_uri: str | None = None
    properties: dict[str, str] = field(default_factory=dict)  # the endpoint's property bag, as Azure keeps it


@dataclass(frozen=True)
class LiveModel:
    name: str
    version: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveServerless:
    name: str
    model_id: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveState:
    """The part of one workspace a release is compared with."""

    endpoints: dict[str, LiveEndpoint] = field(default_factory=dict)
    models: dict[tuple[str, str], LiveModel] = field(default_factory=dict)
    serverless: dict[str, LiveServerless] = field(default_factory=dict)


def nonzero(split: dict[str, int]) -> dict[str, int]:
    """A traffic split without its zero shares: Azure reports those for idle deployments."""
    return {name: int(share) for name, share in split.items() if int(share)}
