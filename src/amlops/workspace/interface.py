"""The workspace interface: every read and write amlops makes of an Azure ML workspace, as plain data.

Capabilities (rollout, promotion, status) speak only this; two implementations keep the same
semantics: `SdkWorkspace` (azure-ai-ml against Azure or the local control plane) and
`MemoryWorkspace` (an in-memory twin for fast tests of the logic above the edge).

Writes take specs that name the user's file and amlops's overrides, never SDK entities: the SDK
implementation loads the file with azure-ai-ml's own loader, so every property the file sets reaches
Azure, and applies only the overrides listed here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from amlops.state.live import LiveEndpoint, LiveState
from amlops.state.record import Measurement


class Unavailable(Exception):
    """Azure did not answer, beyond the SDK's own retries: throttled (429), unavailable (5xx), or the
    connection lost. Nothing is known to have changed; the same request may be made again later."""


@dataclass(frozen=True)
class EndpointSpec:
    """An online endpoint as the file declares it, with amlops's tags and traffic."""

    name: str
    source: Path | None  # endpoints/<name>/endpoint.yml; None for an endpoint whose file is gone (retiring)
    tags: dict[str, str]
    traffic: dict[str, int]
    mirror: dict[str, int]


@dataclass(frozen=True)
class DeploymentSpec:
    """A deployment file under its Azure name, with this environment's model pin and instances."""

    endpoint: str
    name: str  # the Azure name, `<name>-<spec hash>`
    source: Path  # endpoints/<endpoint>/<deployment>.yml
    model: str  # `azureml:<name>:<version>` or `azureml://registries/...`
    instance_type: str
    instance_count: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    """A model version from its CLI v2 file, registered from its local artifact."""

    name: str
    version: str
    source: Path  # models/<model>/v<version>.yml
    artifact: Path  # the folder or file it uploads: inside the repository (validated)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerlessSpec:
    name: str
    model_id: str
    source: Path | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A scoring request's outcome: its HTTP status and body, or why it never got one (status 0)."""

    status: int
    text: str

    @property
    def ok(self) -> bool:
        return 0 < self.status < 400


class Load(Protocol):
    """Synthetic load under way: the sample request, sent through the endpoint's traffic split."""

    sent: int
    failed: int


class Registry(Protocol):
    """The Azure ML registry releases are promoted through, as promotion needs it."""

    name: str

    def model_tags(self, name: str, version: str) -> dict[str, str] | None:
        """The tags of a model version in the registry, or None if it is not there."""
        ...

    def share(self, name: str, version: str) -> None:
        """Copy a model version from the workspace into the registry: the same bytes, no upload from here."""
        ...


class Workspace(Protocol):
    """One environment's workspace."""

    environment: str
    local: bool  # the local control plane: no production traffic, so apply supplies synthetic load

    # -- reads --------------------------------------------------------------------------------------
    def observe(self, endpoints: Collection[str] = (), models: Collection[tuple[str, str]] = ()) -> LiveState:
        """The named endpoints and model versions, every endpoint amlops manages for this environment, and
        every serverless endpoint."""
        ...

    def endpoint(self, name: str) -> LiveEndpoint | None:
        """One endpoint with its deployments, fresh: what a rollout re-reads before every decision."""
        ...

    def logs(self, endpoint: str, deployment: str, lines: int = 20) -> str: ...

    def measure(self, endpoint: str, deployments: Sequence[str], since: float) -> Measurement:
        """Requests `deployments` of `endpoint` served since `since` (epoch seconds), with errors and p95."""
        ...

    def invoke(self, endpoint: str, body: bytes, deployment: str | None = None) -> Answer:
        """One scoring request, to `deployment` alone (the `azureml-model-deployment` header) or by traffic."""
        ...

    def load(self, endpoint: str, body: bytes) -> AbstractContextManager[Load]: ...

    def model_tags(self, name: str, version: str) -> dict[str, str] | None:
        """The tags of a model version in the workspace, or None if it is not registered."""
        ...

    def registry(self, name: str) -> Registry: ...

    # -- writes -------------------------------------------------------------------------------------
    def put_endpoint(self, spec: EndpointSpec) -> None:
        """Create or update the endpoint: its file's properties, tags, traffic and mirror in one write."""
        ...

    def begin_deployment(self, spec: DeploymentSpec) -> None:
        """Start creating (or updating) a deployment; its provisioning state tells when it is done."""
        ...

    def delete_deployment(self, endpoint: str, name: str) -> None: ...

    def delete_endpoint(self, name: str) -> None: ...

    def register_model(self, spec: ModelSpec) -> None: ...

    def put_serverless(self, spec: ServerlessSpec) -> None: ...

    def delete_serverless(self, name: str) -> None: ...
