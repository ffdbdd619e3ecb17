"""azure-ai-ml's check before its experimental-feature notice, answered without reading source files.

Each time the SDK builds an experimental class or calls an experimental method (serverless endpoints,
the schemas of fine-tuning and distillation jobs, ...) it first asks `_should_skip_warning` whether a
`_from_rest_object` is on the call stack, and finds out with `inspect.stack()`, which reads the source
file of every frame on the stack: measured, about half of validating the sample repository. The same
question is answered here from the frames' code names, which is what `inspect.stack()` reports as
each frame's `function`. The notice itself is unchanged (and `cli.common.quiet_sdk` silences it).
"""

from __future__ import annotations

import sys

from azure.ai.ml._utils import _experimental


def _should_skip_warning() -> bool:
    """True inside a conversion from a REST object, as azure-ai-ml decides (its `_experimental` module)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_from_rest_object":
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def install() -> None:
    """Use the frame walk in place of azure-ai-ml's own; a later SDK without that function is left alone."""
    if hasattr(_experimental, "_should_skip_warning"):
        _experimental._should_skip_warning = _should_skip_warning
