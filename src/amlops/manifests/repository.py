"""The in-memory model of a repository: what every command reads instead of the files.

Azure ML files are kept as the few fields of azure-ai-ml's loaded entities that amlops reads, not as
the entities: a summary is plain data, so a file the loaders accepted before (same bytes, same
referenced files, same SDK) is not loaded again (:mod:`amlops.manifests.cache`), and commands that
only read manifests never import the SDK. Writes load the entity from its file again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amlops.manifests.environment import Environment
from amlops.manifests.yamlio import Document


@dataclass(frozen=True)
class Model:
    """What amlops reads of a loaded `Model`: the loader resolves a local `path` against the file's folder."""

    name: str
    version: str | None
    path: str | None

    @classmethod
    def of(cls, entity: Any) -> Model:
        return cls(str(entity.name), _optional(entity.version), _optional(entity.path))


@dataclass(frozen=True)
class OnlineEndpoint:
    """What amlops reads of a loaded `ManagedOnlineEndpoint`."""

    name: str
    auth_mode: str | None
    traffic: dict[str, int]

    @classmethod
    def of(cls, entity: Any) -> OnlineEndpoint:
        return cls(str(entity.name), _optional(entity.auth_mode), dict(entity.traffic or {}))


@dataclass(frozen=True)
class OnlineDeployment:
    """What amlops reads of a loaded `ManagedOnlineDeployment`."""

    name: str
    instance_type: str | None
    instance_count: int | None

    @classmethod
    def of(cls, entity: Any) -> OnlineDeployment:
        count = entity.instance_count
        return cls(str(entity.name), _optional(entity.instance_type), None if count is None else int(count))


@dataclass(frozen=True)
class Serverless:
    """What amlops reads of a loaded `ServerlessEndpoint`."""

    name: str
    model_id: str  # the loader requires it

    @classmethod
    def of(cls, entity: Any) -> Serverless:
        return cls(str(entity.name), str(entity.model_id))


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


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
    deployment: OnlineDeployment

    @property
    def name(self) -> str:
        return str(self.deployment.name)


@dataclass(frozen=True)
class EndpointFolder:
    """`endpoints/<name>/`: an online endpoint with its deployment files, or a serverless endpoint."""

    name: str
    folder: Path
    endpoint: OnlineEndpoint | None = None
    endpoint_document: Document | None = None
    deployments: dict[str, DeploymentFile] = field(default_factory=dict)
    serverless: Serverless | None = None
    serverless_document: Document | None = None

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
