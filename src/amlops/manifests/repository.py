"""The in-memory model of a repository: what every command reads instead of the files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, Model, ServerlessEndpoint

from amlops.manifests.environment import Environment
from amlops.manifests.yamlio import Document


@dataclass(frozen=True)
class ModelFile:
    """One released model version: an Azure ML CLI v2 model file under `models/`."""

    document: Document
    model: Model

    @property
    def key(self) -> tuple[str, str]:
        return (str(self.model.name), str(self.model.version))

    @property
    def artifact(self) -> Path | None:
        """The local artifact folder or file, or None when the model lives at a URI."""
        path = str(self.model.path or "")
        return None if "://" in path or path.startswith("azureml:") else Path(path)


@dataclass(frozen=True)
class DeploymentFile:
    """An Azure ML CLI v2 managed online deployment file: the spec a deployment is created from."""

    document: Document
    deployment: ManagedOnlineDeployment

    @property
    def name(self) -> str:
        return str(self.deployment.name)


@dataclass(frozen=True)
class EndpointFolder:
    """`endpoints/<name>/`: an online endpoint with its deployment files, or a serverless endpoint."""

    name: str
    folder: Path
    endpoint: ManagedOnlineEndpoint | None = None
    endpoint_document: Document | None = None
    deployments: dict[str, DeploymentFile] = field(default_factory=dict)
    serverless: ServerlessEndpoint | None = None
    serverless_document: Document | None = None
    unloaded: frozenset[str] = frozenset()  # deployments whose files did not load (their problems say why)

    @property
    def document(self) -> Document:
        """The file that defines the endpoint: endpoint.yml or serverless.yml."""
        document = self.endpoint_document or self.serverless_document
        assert document is not None, "an endpoint folder is loaded from one of its two files"
        return document

    @property
    def sample_request(self) -> Path | None:
        """`sample-request.json` beside the endpoint file: what smoke tests send."""
        path = self.folder / "sample-request.json"
        return path if path.is_file() else None


@dataclass(frozen=True)
class EnvironmentFile:
    document: Document
    environment: Environment


@dataclass(frozen=True)
class Repository:
    """Everything amlops read from a repository, already checked against its schemas."""

    root: Path
    environments: dict[str, EnvironmentFile]
    models: dict[tuple[str, str], ModelFile]
    endpoints: dict[str, EndpointFolder]
    #: Names whose files did not load: their problems are reported, and cross-checks do not report them again.
    unloaded_models: frozenset[str] = frozenset()
    unloaded_endpoints: frozenset[str] = frozenset()
