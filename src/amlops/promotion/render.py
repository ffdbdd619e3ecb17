"""A promotion for people: the pull request's title and description."""

from __future__ import annotations

from amlops.promotion.plan import Promotion
from amlops.promotion.promote import Outcome


def promotion_title(promotion: Promotion) -> str:
    scope = "" if len(promotion.endpoints) > 1 else f" ({promotion.endpoints[0]})"
    return f"Promote {promotion.release.alias}{scope} from {promotion.source} to {promotion.target}"


def promotion_description(outcome: Outcome) -> str:
    """The pull request's description: what moves, as which bytes, on what evidence."""
    p = outcome.promotion
    lines = [
        f"Promotes release **{p.release.alias}** (`{p.release.id}`) from `{p.source}` to `{p.target}`: "
        f"the same bytes, through registry `{p.registry}`; merging rolls it out in `{p.target}`.",
        "",
        "| endpoint | live in source | healthy | soaked |",
        "|---|---|---|---|",
    ]
    for v in p.verified:
        e = v.evidence
        lines.append(
            f"| {e.endpoint} | `{e.endpoint_release}` since {e.since:%Y-%m-%d %H:%M} UTC | {e.detail} | {v.soaked_minutes} of {v.required_minutes} min |"
            if e.since
            else f"| {e.endpoint} | `{e.endpoint_release}` | {e.detail} | {v.soaked_minutes} of {v.required_minutes} min |"
        )
    lines += ["", "| model | sha256 | registry reference |", "|---|---|---|"]
    shared = set(outcome.shared)
    for m in p.models:
        note = " (shared now)" if m in shared else ""
        lines.append(f"| {m.name}:{m.version} | `{(m.content_hash or '-')[:12]}` | `{m.reference}`{note} |")
    lines += ["", f"Recorded in `{outcome.files[-1]}`."]
    return "\n".join(lines) + "\n"
