"""What an environment trains, pure: the asset versions it needs, its jobs, clusters and batch endpoints.

Asset versions are pinned with a hash of their content (the file and every file it names), as models
are: registering the same content again is nothing to do, and different content under a released
version is refused. Which assets: those the environment's jobs, deployments and batch deployments
name, and what those name in turn (a component's Azure ML environment).

Batch endpoints are kept out of the release id (`Release.canonical`): a release is what online
endpoints serve, which promotion moves between environments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amlops.manifests.environment import DEPLOYMENT_SUFFIX, Cluster
from amlops.manifests.repository import AssetKind, Repository
from amlops.manifests.training_checks import local_paths_of, parse_versioned, references
from amlops.manifests.yamlio import Document, dotted, plain
from amlops.release.bundle import ModelPin, digest, hash_path, pin_model

#: Job types that start from a model-catalog model's weights: they cannot run without Azure.
CATALOG_JOB_TYPES = ("finetuning", "distillation")


def offline_refusal(job: str, kind: str) -> str | None:
    """Why `job` cannot run on the local control plane, or None when it can."""
    if kind not in CATALOG_JOB_TYPES:
        return None
    return (
        f"job {job} ({kind}) cannot run on local: it starts from a model-catalog model whose weights are in "
        "the azureml registry, which the local control plane cannot reach offline; run it in an Azure environment"
    )


@dataclass(frozen=True)
class AssetPin:
    """An Azure ML environment, data asset or component version, with the hash of its content."""

    kind: AssetKind
    name: str
    version: str
    content_hash: str
    path: str  # its file, relative to the repository root

    @property
    def reference(self) -> str:
        return f"azureml:{self.name}:{self.version}"


@dataclass(frozen=True)
class BatchDeploymentRelease:
    endpoint: str
    name: str
    kind: str  # `model` or `pipeline`
    source: str  # the deployment file, relative to the repository root
    compute: str | None  # the cluster's name in the files
    content_hash: str

    @property
    def azure_name(self) -> str:
        """`<name>-<8 hex>`: a changed spec is a new deployment beside the default one."""
        return f"{self.name}-{self.content_hash[: DEPLOYMENT_SUFFIX - 1]}"


@dataclass(frozen=True)
class BatchEndpointRelease:
    name: str
    source: str
    deployments: dict[str, BatchDeploymentRelease]
    default: str  # the deployment's name in the files

    @property
    def default_azure(self) -> str:
        return self.deployments[self.default].azure_name


@dataclass(frozen=True)
class TrainingRelease:
    environment: str
    local: bool  # the local control plane: no model-catalog weights, and no Pulumi to create clusters
    assets: tuple[AssetPin, ...] = ()
    jobs: dict[str, str] = field(default_factory=dict)  # job -> Azure ML job type
    clusters: tuple[Cluster, ...] = ()
    batch: dict[str, BatchEndpointRelease] = field(default_factory=dict)
    models: tuple[ModelPin, ...] = ()  # this repository's model versions batch deployments serve

    @property
    def computes(self) -> dict[str, str]:
        """Cluster names as files write them -> Azure names."""
        return {c.name: c.azure_name for c in self.clusters}


def build_training(repo: Repository, environment: str) -> TrainingRelease:
    """What `environment` trains. The repository must have validated."""
    env = repo.environments[environment].environment
    documents = [repo.jobs[name].document for name in env.jobs]
    for name in env.endpoints:
        folder = repo.endpoints.get(name)
        documents += [d.document for d in folder.deployments.values()] if folder else []
    batch = {
        name: _batch_endpoint(repo, name, choice.deployments, choice.default_deployment)
        for name, choice in env.batch_endpoints.items()
    }
    documents += [repo.batch_endpoints[b.name].deployments[d].document for b in batch.values() for d in b.deployments]
    documents += evaluation_documents(repo, environment)
    return TrainingRelease(
        environment=environment,
        local=env.platform.value == "local",
        assets=tuple(asset_closure(repo, documents)),
        jobs={name: str(repo.jobs[name].document.data.get("type") or "command") for name in env.jobs},
        clusters=tuple(env.all_clusters),
        batch=batch,
        models=_batch_models(repo, batch),
    )


def evaluation_documents(repo: Repository, environment: str) -> list[Document]:
    """The assets the environment's evaluations name (component, held-out data), as a one-step pipeline would name
    them: apply registers them with the rest, so an evaluation finds them."""
    env_file = repo.environments[environment]
    env = env_file.environment
    strategies = [env.strategy, *(env.strategy_for(name) for name in env.endpoints)]
    documents = []
    evaluations = {s.evaluation.model_dump_json(): s.evaluation for s in strategies if s.evaluation is not None}
    for _, evaluation in sorted(evaluations.items()):
        if evaluation.component and evaluation.data:
            node = {"component": evaluation.component, "inputs": {"data": {"type": "uri_folder", "path": evaluation.data}}}
            documents.append(Document(env_file.document.path, {"jobs": {"evaluate": node}}))
    return documents


def _batch_models(repo: Repository, batch: dict[str, BatchEndpointRelease]) -> tuple[ModelPin, ...]:
    pins = set()
    for endpoint in batch.values():
        for d in endpoint.deployments.values():
            model = repo.batch_endpoints[endpoint.name].deployments[d.name].document.data.get("model")
            pin = pin_model(repo, model.removeprefix("azureml:")) if isinstance(model, str) and ":" in model else None
            if pin is not None and pin.registry is None and pin.content_hash is not None:
                pins.add(pin)
    return tuple(sorted(pins, key=lambda p: (p.name, p.version)))


def asset_closure(repo: Repository, documents: list[Document]) -> list[AssetPin]:
    """The repository's asset versions `documents` name, and those they name in turn: each after what it names
    (Azure resolves a component's references when it is registered), then by kind and name."""
    depth: dict[tuple[AssetKind, str, str], int] = {}
    pins: dict[tuple[AssetKind, str, str], AssetPin] = {}

    def named(document: Document) -> list[tuple[AssetKind, str, str]]:
        keys = []
        for _, kind, ref in references(document.data):
            parsed = parse_versioned(ref)
            asset = repo.asset(kind, *parsed) if parsed else None
            if asset is None:
                continue
            key = (kind, *asset.key)
            if key not in depth:
                depth[key] = 0  # a cycle stops here
                pins[key] = AssetPin(kind, *asset.key, content_hash(repo, asset.document), asset.document.path)
                depth[key] = 1 + max((depth[k] for k in named(asset.document)), default=-1)
            keys.append(key)
        return keys

    for document in documents:
        named(document)
    order = list(AssetKind)
    return [pins[k] for k in sorted(pins, key=lambda k: (depth[k], order.index(k[0]), k[1], k[2]))]


def content_hash(repo: Repository, document: Document) -> str:
    """sha256 of a file as parsed, and of every local file or folder it names."""
    base = (repo.root / document.path).parent
    files = {dotted(f): hash_path(base / raw) for f, raw in local_paths_of(document.data) if (base / raw).exists()}
    return digest({"file": plain(document.data), "files": files})


def _batch_endpoint(repo: Repository, name: str, deployments: list[str], default: str) -> BatchEndpointRelease:
    folder = repo.batch_endpoints[name]
    releases = {}
    for deployment in deployments:
        file = folder.deployments[deployment]
        data = file.document.data
        compute = data.get("compute") or (data.get("settings") or {}).get("default_compute")  # a pipeline's default
        releases[deployment] = BatchDeploymentRelease(
            endpoint=name,
            name=deployment,
            kind=str(file.document.data["type"]),
            source=file.document.path,
            compute=str(compute).removeprefix("azureml:") if compute else None,
            content_hash=content_hash(repo, file.document),
        )
    return BatchEndpointRelease(name, folder.document.path, releases, default)
