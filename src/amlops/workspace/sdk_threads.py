"""azure-ai-ml's scoring-script check, one thread at a time.

Before it submits an online or batch deployment, azure-ai-ml parses its scoring script with
`ast.parse` (`_utils/_endpoint_utils.validate_scoring_script`). CPython 3.11 counts the AST
converter's recursion depth in state that all threads share (CPython issue gh-106905), so two threads
parsing at once can fail with `SystemError: AST constructor recursion depth mismatch`: measured, one
deployment in ten when `apply` rolls ten endpoints out in parallel. The check is a few milliseconds;
only it is serialised, uploads and provisioning stay parallel.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from azure.ai.ml.operations import _batch_deployment_operations, _online_deployment_operations

_AST = threading.Lock()


def _one_at_a_time(check: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(check)
    def checked(deployment: Any) -> None:
        with _AST:
            check(deployment)

    checked.__amlops_serialised__ = True  # type: ignore[attr-defined]
    return checked


def install() -> None:
    """Serialise the check where the deployment operations call it (each imported it by name)."""
    for module in (_online_deployment_operations, _batch_deployment_operations):
        check = getattr(module, "validate_scoring_script", None)
        if check is not None and not getattr(check, "__amlops_serialised__", False):
            module.validate_scoring_script = _one_at_a_time(check)  # type: ignore[attr-defined]
