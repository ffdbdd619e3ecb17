"""The in-memory model of a repository: what every command reads instead of the files."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amlops.manifests.environment import Environment
from amlops.manifests.yamlio import Document

if TYPE_CHECKING:  # the loaders import azure-ai-ml (over a second); the model of a repository need not
    from azure.ai.ml.entities import (
        BatchDeployment,
        BatchEndpoint,
        Job,
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
        ServerlessEndpoint,
    )


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


class AssetKind(str, Enum):
    """Versioned Azure ML assets amlops registers besides models, and the folder each lives in."""

    environment = "environment"  # an Azure ML environment: assets/environments/<name>.yml
    data = "data"  # assets/data/<name>.yml, the files beside it
    component = "component"  # components/<name>/component.yml, its code beside it

    @property
    def noun(self) -> str:
        return {"environment": "Azure ML environment", "data": "data asset"}.get(self.value, self.value)


@dataclass(frozen=True)
class AssetFile:
    """One released version of an Azure ML environment, data asset or component, from its CLI v2 file."""

    kind: AssetKind
    document: Document
    entity: Any  # azure.ai.ml.entities.Environment, Data or Component

    @property
    def key(self) -> tuple[str, str]:
        return (str(self.entity.name), str(self.entity.version))

    @property
    def reference(self) -> str:
        return f"azureml:{self.key[0]}:{self.key[1]}"


@dataclass(frozen=True)
class JobFile:
    """`jobs/<name>.yml`: a command, pipeline, fine-tuning or distillation job, submitted by `amlops run`."""

    name: str  # the file's stem: what `amlops run` and an environment's `jobs` name
    document: Document
    job: Job


@dataclass(frozen=True)
class BatchDeploymentFile:
    """A batch deployment file: a model deployment, or a pipeline-component deployment."""

    document: Document
    deployment: BatchDeployment  # ModelBatchDeployment or PipelineComponentBatchDeployment

    @property
    def name(self) -> str:
        return str(self.deployment.name)


@dataclass(frozen=True)
class BatchEndpointFolder:
    """`batch-endpoints/<name>/`: a batch endpoint file and its deployment files."""

    name: str
    folder: Path
    endpoint: BatchEndpoint
    document: Document
    deployments: dict[str, BatchDeploymentFile] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleFile:
    """`schedules/<name>.yml`: a job schedule (`create_job`) or a model monitor (`create_monitor`)."""

    name: str  # the file's stem: what an environment's `schedules` names
    document: Document
    schedule: Any  # azure.ai.ml.entities.JobSchedule or MonitorSchedule

    @property
    def azure_name(self) -> str:
        """The file's `name`: the schedule's name in the workspace."""
        return str(self.schedule.name)

    @property
    def monitor(self) -> bool:
        return "create_monitor" in self.document.data


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
    assets: dict[AssetKind, dict[tuple[str, str], AssetFile]] = field(default_factory=dict)
    jobs: dict[str, JobFile] = field(default_factory=dict)
    batch_endpoints: dict[str, BatchEndpointFolder] = field(default_factory=dict)
    schedules: dict[str, ScheduleFile] = field(default_factory=dict)

    def asset(self, kind: AssetKind, name: str, version: str) -> AssetFile | None:
        return self.assets.get(kind, {}).get((name, version))
