"""Model references as people write them, parsed into one form.

Accepted: `name:version`, `azureml:name:version` (the CLI's form), and registry URIs
`azureml://registries/<registry>/models/<name>/versions/<version>`. `@latest`, `@<label>` and
version `latest` are floating: they may move without a commit, so staging and prod refuse them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
