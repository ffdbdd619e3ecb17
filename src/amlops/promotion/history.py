"""The promotion history: one YAML file per target environment, a list that only ever grows.

Auditors ask which commit put which model version behind which endpoint, and on what evidence; the
record answers it in the repository, reviewed in the same pull request as the manifest change. One
file per target, so promotions to staging and to prod never conflict with each other.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from ruamel.yaml import YAML

from amlops.promotion.plan import Promotion


def history_path(target: str) -> str:
    return f"releases/history/{target}.yaml"


def history_record(promotion: Promotion, who: str, when: datetime, commit: str) -> dict[str, Any]:
    """Who promoted what, when, from where, and the evidence it was allowed on."""
    return {
        "when": when.isoformat(timespec="seconds"),
        "who": who,
        "from": promotion.source,
        "to": promotion.target,
        "release": {"id": promotion.release.id, "alias": promotion.release.alias},
        "commit": commit,
        "endpoints": list(promotion.endpoints),
        "models": [
            {"name": m.name, "version": m.version, "content_hash": m.content_hash, "reference": m.reference}
            for m in promotion.models
        ],
        "verification": [
            {
                "endpoint": v.evidence.endpoint,
                "live_release": v.evidence.endpoint_release,
                "healthy": v.evidence.healthy,
                "live_since": v.evidence.since.isoformat(timespec="seconds") if v.evidence.since else None,
                "soaked_minutes": v.soaked_minutes,
                "required_minutes": v.required_minutes,
                "detail": v.evidence.detail,
            }
            for v in promotion.verified
        ],
    }


def append_record(text: str | None, target: str, record: dict[str, Any]) -> str:
    """`text` with `record` appended; earlier records stay byte for byte."""
    if text is None:
        text = f"# Promotions into {target}, oldest first: appended by `amlops promote`, never edited.\n"
    if text and not text.endswith("\n"):
        text += "\n"
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep the record's own order: when, who, from, to...
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump([record], out)
    return text + out.getvalue()
