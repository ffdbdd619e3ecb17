"""The documentation site builds with warnings as errors: every page in nav, every link and anchor
resolves, and the CLI reference is generated from the commands (docs/_hooks/cli_reference.py)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_site_builds_strict(tmp_path: Path, shell_env: dict[str, str]):
    path = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    env = shell_env | {"NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    reference = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    for command in ("amlops apply", "amlops local metrics", "amlops local fault scoring", "amlops infra plan"):
        assert f"<code>{command}</code>" in reference, command
    assert "branch promote/&lt;to&gt;/&lt;alias&gt;" in reference  # help text, not HTML tags
