"""The CLI starts without the SDK: `amlops --help` (and every command's parsing) imports no capability, no
azure-ai-ml and no pydantic; a command imports what it uses when it runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    *("azure.ai.ml", "azure.core", "azure.mgmt", "pydantic", "amlops.manifests.load"),
    *("amlops.rollout", "amlops.training", "amlops.adopt", "amlops.retraining", "amlops.monitoring"),
)


def loaded_after(code: str, env: dict[str, str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The `heavy` modules a fresh interpreter (in `env`, a fresh shell's: see `shell_env`) has imported after running `code`."""
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.splitlines()[-1])


def test_help_imports_neither_the_sdk_nor_the_capabilities(shell_env: dict[str, str]) -> None:
    code = "from amlops.cli.main import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass"
    assert loaded_after(code, shell_env) == []


def test_a_command_that_runs_imports_what_it_uses(shell_env: dict[str, str]) -> None:
    code = "from amlops.cli.main import app\ntry:\n    app(['validate', '--repo', '.'])\nexcept SystemExit:\n    pass"
    assert "amlops.manifests.load" in loaded_after(code, shell_env)


def test_reaching_the_local_control_plane_imports_its_lifecycle_not_its_server(shell_env: dict[str, str], tmp_path: Path) -> None:
    """`open_workspace` and `amlops local status` start or ask a plane: the HTTP server, its ARM routes and store
    (about 80 ms) are the plane process's, not theirs."""
    code = (
        "from amlops.cli.main import app\nimport amlops.local.client\ntry:\n"
        f"    app(['local', 'status', '--state-dir', {str(tmp_path)!r}])\nexcept SystemExit:\n    pass"
    )
    assert loaded_after(code, shell_env, ("amlops.local.server", "amlops.local.arm")) == []
