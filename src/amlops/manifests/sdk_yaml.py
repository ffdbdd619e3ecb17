"""azure-ai-ml's YAML reading, on PyYAML's C parser.

azure-ai-ml reads every file it loads (and the conda file each deployment's environment names, again for
each deployment) with `yaml.safe_load`, PyYAML's pure-Python parser: measured, a quarter of validating
1,000 endpoints. PyYAML's wheels ship libyaml, and `yaml.CSafeLoader` builds the same data (the same
SafeConstructor and resolver, fed by libyaml's parser) about ten times faster. Only the SDK's own modules
see the swap, and every file amlops hands the SDK has already been read and checked by `yamlio`.
"""

from __future__ import annotations

import sys
from typing import IO, Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints


class _CSafeYaml:
    """The `yaml` module as an SDK module sees it, with `safe_load` on libyaml."""

    def __getattr__(self, name: str) -> Any:
        return getattr(yaml, name)

    @staticmethod
    def safe_load(stream: str | bytes | IO[Any]) -> Any:
        return yaml.load(stream, Loader=yaml.CSafeLoader)  # noqa: S506 - CSafeLoader is the safe loader


def install() -> None:
    """Point the loaded azure-ai-ml modules that `import yaml` at the C parser (left alone without libyaml)."""
    if not getattr(yaml, "__with_libyaml__", False):
        return
    fast = _CSafeYaml()
    for name, module in list(sys.modules.items()):
        if name.startswith("azure.ai.ml") and getattr(module, "yaml", None) is yaml:
            module.yaml = fast  # type: ignore[attr-defined]
