"""Options and helpers shared by the commands."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import typer

from amlops.cli.output import fail

RepoOption = typer.Option(
    Path(os.environ.get("AMLOPS_REPO", ".")),
    "--repo",
    "--root",
    help="the amlops repository (default: the current directory, or $AMLOPS_REPO)",
    file_okay=False,
    exists=True,
    resolve_path=True,  # files the SDK uploads are named relative to their YAML file, so never relative to the cwd
)


EnvOption = typer.Option(..., "--env", help="the environment (environments/<env>.yaml)")


class SdkUploadNoise(io.TextIOBase):
    """stderr, less what azure-ai-ml prints after every upload even with `show_progress=False`.

    Its blob helper ends each upload with `print(Fore.RESET + "\\n", file=sys.stderr)`: a colour
    reset and two blank lines between amlops's progress lines. Everything else passes through.
    """

    _RESET = "\x1b[39m\n"

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._after_reset = False

    def write(self, text: str) -> int:
        swallowed = text == self._RESET or (self._after_reset and text == "\n")
        self._after_reset = text == self._RESET
        return len(text) if swallowed else self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding


#: azure-ai-ml loggers whose notes are noise in amlops's output: experimental-class notices (serverless
#: endpoints), progress notes and VM size advice (which the local target ignores).
SDK_NOISE_LOGGERS = (
    "azure.ai.ml._utils._experimental",
    "azure.ai.ml.operations._online_deployment_operations",
    "azure.ai.ml.operations._model_operations",
)


def quiet_sdk() -> None:
    """Keep azure-ai-ml's chatter out of amlops's output (the CLI's, and the benchmarks')."""
    for name in SDK_NOISE_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if not isinstance(sys.stderr, SdkUploadNoise):
        sys.stderr = SdkUploadNoise(sys.stderr)


@contextlib.contextmanager
def azure_errors(env: str) -> Iterator[None]:
    """Azure's refusals as one clear line and exit code 1, not a traceback."""
    # Imported by the commands that talk to Azure, which load them anyway, not at every CLI start.
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    from amlops.workspace.interface import Unavailable

    try:
        yield
    except ClientAuthenticationError as exc:
        first = str(exc).splitlines()[0]
        fail(f"cannot sign in to Azure for {env}: {first} (in CI: azure/login with OIDC; by hand: az login)")
    except Unavailable as exc:
        fail(f"stopped: {exc}; what was done is recorded in the workspace: run the command again to resume")
    except KeyboardInterrupt:
        fail("interrupted: what was done is recorded in the workspace; run the command again to resume", code=130)
    except HttpResponseError as exc:
        fail(f"Azure ML refused a request for {env}: {str(exc).strip().splitlines()[0]}")
