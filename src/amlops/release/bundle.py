"""Releases: the immutable bundle an environment serves, named by the hash of its canonical form.

A release pins, per endpoint, each deployment's model version with the hash of the model's bytes,
the deployment spec (instance settings, probes, request settings), and the hashes of its scoring code
and environment. Two environments serving the same release serve the same bytes; a change to any of
them is a new release. Built from the manifests alone (pure but for reading files to hash them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amlops.manifests.environment import DEPLOYMENT_SUFFIX, EndpointChoice, Strategy
from amlops.manifests.references import parse_model_ref, registry_model_uri, resolve
from amlops.manifests.repository import DeploymentFile, Repository
from amlops.manifests.yamlio import plain

#: Deployment-file keys that are not settings of their own: each other key is part of what a deployment *is*,
#: so a change to any (probes, request settings, model mount path, properties...) is a new deployment. The
#: model and instances are the environment's to set; code and environment are hashed by content below.
NOT_DEPLOYMENT_SETTINGS = (
    "$schema",
    "name",
    "endpoint_name",
    "model",
    "instance_type",
    "instance_count",
    "code_configuration",
    "environment",
)
#: The tag a model file that references a registered asset (no artifact here) records its content hash in:
#: the sha256 `hash_path` gives its files, the value amlops tags every model version with in Azure
#: (state.record.CONTENT_HASH), so plan checks the file against the asset.
CONTENT_HASH_TAG = "amlops.content_hash"
#: Endpoint-file keys that are not the endpoint's settings: its name, and what the environment file sets.
NOT_ENDPOINT_SETTINGS = ("$schema", "name", "auth_mode", "traffic", "mirror_traffic")
_ADJECTIVES = [
    "amber",
    "brisk",
    "calm",
    "deft",
    "eager",
    "fair",
    "gentle",
    "hardy",
    "keen",
    "lucid",
    "merry",
    "noble",
    "plucky",
    "quiet",
    "rapid",
    "sunny",
]
_NOUNS = [
    "badger",
    "cedar",
    "dolphin",
    "falcon",
    "gecko",
    "heron",
    "ibis",
    "jaguar",
    "kestrel",
    "lynx",
    "marten",
    "otter",
    "puffin",
    "raven",
    "swift",
    "wren",
]


@dataclass(frozen=True)
class ModelPin:
    """A model version and, for models in this repository, the hash of its bytes."""

    name: str
    version: str
    registry: str | None = None
    content_hash: str | None = None  # sha256 of the artifact; None for models that live only in a registry
    path: str | None = None  # the artifact, relative to the repository root

    @property
    def reference(self) -> str:
        if self.registry:
            return registry_model_uri(self.registry, self.name, self.version)
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class DeploymentRelease:
    """One deployment as it will run in one environment."""

    endpoint: str
    name: str
    model: ModelPin
    settings: dict[str, Any]  # the deployment file's spec but for instance type and count
    code_hash: str | None
    environment_hash: str | None
    instance_type: str
    instance_count: int
    source: str  # the deployment file, relative to the repository root
    autoscale_range: tuple[int, int] | None = None  # (min, max) instances Azure Monitor may scale it within

    def holds(self, instance_count: int) -> bool:
        """Whether a live instance count is what this deployment wants: its own, or any autoscale may pick."""
        low, high = self.autoscale_range or (self.instance_count, self.instance_count)
        return instance_count == self.instance_count or low <= instance_count <= high

    def identity(self) -> dict[str, Any]:
        """What is served, the same in every environment: the part a release id hashes."""
        model = {"name": self.model.name, "version": self.model.version, "content_hash": self.model.content_hash}
        return {
            "endpoint": self.endpoint,
            "name": self.name,
            "model": model,
            "settings": self.settings,
            "code_hash": self.code_hash,
            "environment_hash": self.environment_hash,
        }

    @property
    def spec_hash(self) -> str:
        """Everything Azure cannot change in place; the instance count is scaled in place instead."""
        return digest({**self.identity(), "instance_type": self.instance_type.lower()})

    @property
    def azure_name(self) -> str:
        """`<name>-<8 hex>`: a changed spec is a new deployment beside the live one (blue/green)."""
        return f"{self.name}-{self.spec_hash[: DEPLOYMENT_SUFFIX - 1]}"


@dataclass(frozen=True)
class EndpointRelease:
    name: str
    auth_mode: str
    deployments: dict[str, DeploymentRelease]
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    strategy: Strategy
    sample_request: str | None = None  # path, relative to the repository root
    settings: dict[str, Any] = field(default_factory=dict)  # the rest of endpoint.yml: description, identity...

    @property
    def settings_hash(self) -> str | None:
        """What the release hashes of the endpoint's own settings (None for a file with none but auth_mode)."""
        return digest(self.settings) if self.settings else None

    def azure_traffic(self) -> dict[str, int]:
        """The traffic split by Azure deployment names."""
        return {self.deployments[d].azure_name: share for d, share in self.traffic.items()}


@dataclass(frozen=True)
class ServerlessRelease:
    name: str
    model_id: str


@dataclass(frozen=True)
class Release:
    environment: str
    endpoints: dict[str, EndpointRelease] = field(default_factory=dict)
    serverless: dict[str, ServerlessRelease] = field(default_factory=dict)

    def canonical(self) -> dict[str, Any]:
        """What the release id hashes: what is served, not where or how much.

        Left out: the environment, instance types and counts, traffic and strategy, which each
        environment sets for itself; so a release promoted from staging to prod keeps its id.
        """
        return {
            "endpoints": {
                name: {
                    "auth_mode": e.auth_mode,
                    "deployments": {d: digest(r.identity()) for d, r in sorted(e.deployments.items())},
                    **({"settings": e.settings_hash} if e.settings_hash else {}),
                }
                for name, e in sorted(self.endpoints.items())
            },
            "serverless": {name: s.model_id for name, s in sorted(self.serverless.items())},
        }

    @property
    def id(self) -> str:
        return release_id(self.canonical())

    @property
    def alias(self) -> str:
        """A name people can say: two words drawn from the id, and its first four characters."""
        number = int(self.id, 16)
        return f"{_ADJECTIVES[number % 16]}-{_NOUNS[(number >> 4) % 16]}-{self.id[:4]}"

    def endpoint(self, name: str) -> Release:
        """The part of this release that one endpoint serves (promotion may move one at a time)."""
        return Release(
            self.environment,
            {k: v for k, v in self.endpoints.items() if k == name},
            {k: v for k, v in self.serverless.items() if k == name},
        )


def release_id(canonical: dict[str, Any]) -> str:
    """The id of a release given its canonical form (also rebuilt from a workspace's live tags)."""
    return digest(canonical)[:16]


def build_release(repo: Repository, environment: str) -> Release:
    """The release the manifests declare for `environment`. The repository must have validated."""
    env = repo.environments[environment].environment
    endpoints: dict[str, EndpointRelease] = {}
    serverless: dict[str, ServerlessRelease] = {}
    for name, choice in sorted(env.endpoints.items()):
        folder = repo.endpoints[name]
        if not isinstance(choice, EndpointChoice):
            assert folder.serverless is not None
            serverless[name] = ServerlessRelease(name, folder.serverless.model_id)
            continue
        assert folder.endpoint is not None and folder.endpoint_document is not None
        file = folder.endpoint_document.data
        deployments = {
            d: dataclasses.replace(
                _deployment(repo, name, folder.deployments[d], chosen.model, chosen.instance_type, chosen.instance_count),
                autoscale_range=chosen.autoscale.bounds if chosen.autoscale else None,
            )
            for d, chosen in sorted(choice.deployments.items())
        }
        sample = folder.sample_request
        endpoints[name] = EndpointRelease(
            name=name,
            auth_mode=str(folder.endpoint.auth_mode or "key"),
            deployments=deployments,
            traffic=env.traffic(name),
            mirror_traffic=dict(choice.mirror_traffic),
            strategy=env.strategy_for(name),
            sample_request=_relative(repo.root, sample) if sample else None,
            settings={key: plain(value) for key, value in file.items() if key not in NOT_ENDPOINT_SETTINGS},
        )
    return Release(environment, endpoints, serverless)


def _deployment(
    repo: Repository, endpoint: str, file: DeploymentFile, model: str, instance_type: str | None, count: int | None
) -> DeploymentRelease:
    raw = file.document.data
    settings = {key: plain(value) for key, value in raw.items() if key not in NOT_DEPLOYMENT_SETTINGS}
    base = (repo.root / file.document.path).parent
    code = raw.get("code_configuration") or {}
    code_hash = None
    if isinstance(code, dict) and code.get("code"):
        code_hash = hash_path(base / str(code["code"]))
        settings["scoring_script"] = code.get("scoring_script")
    return DeploymentRelease(
        endpoint=endpoint,
        name=file.name,
        model=pin_model(repo, model),
        settings=settings,
        code_hash=code_hash,
        environment_hash=_environment_hash(base, raw.get("environment")),
        instance_type=instance_type or str(file.deployment.instance_type),
        instance_count=count or int(file.deployment.instance_count or 1),
        source=file.document.path,
    )


def pin_model(repo: Repository, reference: str) -> ModelPin:
    parsed = parse_model_ref(reference)
    ref = resolve(parsed, [v for n, v in repo.models if n == parsed.name]) if parsed else None
    assert ref is not None and ref.version is not None, f"unvalidated model reference {reference!r}"
    # A promoted model is referenced in the shared registry, but it is the same bytes as the model
    # file in this repository: pin the content hash either way, so the release id does not change.
    local = repo.models.get((ref.name, ref.version))
    if local is None:
        return ModelPin(ref.name, ref.version, ref.registry)
    if local.artifact is None:  # a model file that references a registered asset: its bytes' hash is its tag
        recorded = (local.model.tags or {}).get(CONTENT_HASH_TAG)
        return ModelPin(ref.name, ref.version, ref.registry, str(recorded) if recorded else None)
    return ModelPin(ref.name, ref.version, ref.registry, hash_path(local.artifact), _relative(repo.root, local.artifact))


def _environment_hash(base: Path, environment: Any) -> str | None:
    if environment is None:
        return None
    if isinstance(environment, str):
        return digest(environment)
    described = {k: plain(v) for k, v in environment.items() if k != "conda_file"}
    conda = environment.get("conda_file")
    if isinstance(conda, str):
        described["conda_file"] = hash_path(base / conda)
    elif conda is not None:
        described["conda_file"] = plain(conda)
    return digest(described)


def hash_path(path: Path) -> str:
    """sha256 over a file, or over a folder's files (relative names and bytes, in sorted order)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() if file != path else b"")
        digest.update(b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def digest(value: Any) -> str:
    """The sha256 of a JSON-able value in canonical form: what release ids and content hashes are made of."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _relative(root: Path, path: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()
