"""The README's prompt flow snippets: the dev excerpt is what dev declares, and the local one validates as written."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML
from sample_support import REPO, copy_sample

from amlops.manifests.load import validate_repository

DEV_EXCERPT = "# environments/dev.yaml (excerpt), under endpoints"
LOCAL_FILE = "name: flows"


def snippet(first_line: str) -> str:
    """The README's one YAML block that opens with `first_line`."""
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)
    (block,) = [b for b in blocks if b.startswith(first_line + "\n")]
    return block


def test_the_dev_excerpt_is_what_dev_declares() -> None:
    excerpt = YAML(typ="safe").load(snippet(DEV_EXCERPT))
    dev = YAML(typ="safe").load((REPO / "environments" / "dev.yaml").read_text())
    assert excerpt == {"ticket-triage": dev["endpoints"]["ticket-triage"]}


def test_the_local_environment_for_the_flow_validates_with_devs_evaluation(tmp_path: Path) -> None:
    root = copy_sample(tmp_path)
    (root / "environments" / "flows.yaml").write_text(snippet(LOCAL_FILE))
    repository, problems = validate_repository(root, "flows")
    assert problems == []
    flows, dev = (repository.environments[name].environment for name in ("flows", "dev"))
    assert flows.strategy_for("ticket-triage").evaluation == dev.strategy_for("ticket-triage").evaluation
