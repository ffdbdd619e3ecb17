"""Model references as people write them, parsed into one form.

Accepted: `name:version`, `azureml:name:version` (the CLI's form), and registry URIs
`azureml://registries/<registry>/models/<name>/versions/<version>`. `@latest`, `@<label>` and
version `latest` are floating: they may move without a commit, so staging and prod refuse them.
Elsewhere a floating workspace reference (`churn@latest`, `azureml:churn`) resolves, when the manifests
are read, to the highest version in `models/`: what is deployed is always a version the repository names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

_REGISTRY = re.compile(
    r"^azureml://registries/(?P<registry>[^/]+)/models/(?P<name>[^/@]+)"
    r"(?:/versions/(?P<version>[^/]+)|/labels/(?P<label>[^/]+)|@(?P<at>\w+))?/?$"
)
_WORKSPACE = re.compile(r"^(?:azureml:)?(?P<name>[A-Za-z0-9][\w.-]*)(?::(?P<version>[\w.-]+)|@(?P<label>\w+))?$")


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str | None  # None: a label (`@latest`) or no version at all
    registry: str | None = None  # None: the workspace's own models
    label: str | None = None

    @property
    def floating(self) -> bool:
        return self.version is None or self.version == "latest"

    def __str__(self) -> str:
        tail = f"@{self.label}" if self.label else (f":{self.version}" if self.version else "")
        if self.registry:
            where = f"/versions/{self.version}" if self.version else (f"/labels/{self.label}" if self.label else "")
            return f"azureml://registries/{self.registry}/models/{self.name}{where}"
        return f"{self.name}{tail}"


def registry_model_uri(registry: str, name: str, version: str) -> str:
    """The URI a workspace deployment names a registry's model version by."""
    return f"azureml://registries/{registry}/models/{name}/versions/{version}"


def parse_model_ref(text: str) -> ModelRef | None:
    """The reference, or None when it is not a model reference at all."""
    text = text.strip()
    match = _REGISTRY.match(text)
    if match:
        return ModelRef(match["name"], match["version"], match["registry"], match["label"] or match["at"])
    match = _WORKSPACE.match(text)
    if match:
        return ModelRef(match["name"], match["version"], None, match["label"])
    return None


def resolve(ref: ModelRef, versions: Iterable[str]) -> ModelRef | None:
    """`ref` with a concrete version: itself if pinned; for `@latest` or no version, the highest of `versions`
    (this repository's model files of that name). None when it cannot be resolved here: a registry's float,
    another label, or no version to pick."""
    if not ref.floating:
        return ref
    if ref.registry is not None or ref.label not in (None, "latest"):
        return None
    known = sorted(versions, key=_version_order)
    return replace(ref, version=known[-1], label=None) if known else None


def _version_order(version: str) -> tuple[int, int, str]:
    return (1, int(version), "") if version.isdigit() else (0, 0, version)
