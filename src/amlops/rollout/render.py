"""A plan as people and machines read it: a rich table, JSON, or markdown for a PR comment."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from amlops.rollout import autoscale
from amlops.rollout.evaluation import describe_plan
from amlops.rollout.plan import BatchPlan, Change, EndpointPlan, Plan
from amlops.workspace.studio import Studio


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "environment": plan.environment,
        "release": {"id": plan.release_id, "alias": plan.alias},
        "changed": plan.changed,
        "conflicts": list(plan.conflicts),
        "models": [{"name": p.name, "version": p.version, "content_hash": p.content_hash, "path": p.path} for p in plan.models],
        "endpoints": [_endpoint_json(e) for e in plan.endpoints],
        "retire_endpoints": list(plan.retire_endpoints),
        "serverless": [{"change": s.change.value, "name": s.name, "model_id": s.model_id} for s in plan.serverless],
        "assets": [
            {"kind": a.kind.value, "name": a.name, "version": a.version, "content_hash": a.content_hash, "path": a.path}
            for a in plan.assets
        ],
        "clusters": list(plan.clusters),
        "batch_endpoints": [
            {
                "name": b.name,
                "create": b.create,
                "add": list(b.add),
                "default": {"live": b.default[0], "desired": b.default[1]},
                "retire": list(b.retire),
            }
            for b in plan.batch
        ],
        "schedules": [
            {"change": _SCHEDULE_VERBS[c.change], "name": c.name, "monitor": c.monitor, "fields": list(c.fields)}
            for c in plan.schedules
        ],
        "autoscale": autoscale.as_json(plan.autoscale),
    }


def _endpoint_json(e: EndpointPlan) -> dict[str, Any]:
    return {
        "name": e.name,
        "changed": e.changed,
        "create": e.create,
        "release": {"live": e.live_endpoint_release, "desired": e.endpoint_release},
        "rollout": e.rollout,
        "steps": [s.model_dump(exclude_none=True) for s in e.desired.strategy.steps] if e.rollout else [],
        "deployments": [{"change": c.change.value, "name": c.name, "detail": c.detail} for c in e.deployments],
        "traffic": {"live": e.traffic[0], "desired": e.traffic[1]},
        "mirror_traffic": {"live": e.mirror[0], "desired": e.mirror[1]},
        "resume": e.resume.encode() if e.resume else None,
        "notes": list(e.notes),
        "evaluation": None
        if e.evaluation is None
        else {
            **e.evaluation.evaluation.model_dump(mode="json", exclude_none=True),
            "candidate": e.evaluation.candidate.label,
            "live": e.evaluation.live.label if e.evaluation.live else None,
            "recorded": None if e.preview is None else e.preview.describe(),
        },
    }


def lines(plan: Plan) -> list[tuple[str, str, str]]:
    """(subject, change, detail) rows, the same for the table and the markdown."""
    rows: list[tuple[str, str, str]] = [(f"cluster {name}", "create", "on the local control plane") for name in plan.clusters]
    rows += [(f"{a.kind.noun} {a.name}:{a.version}", "register", f"{a.path} ({a.content_hash[:12]})") for a in plan.assets]
    for pin in plan.models:
        rows.append((f"model {pin.name}:{pin.version}", "register", f"{pin.path} ({(pin.content_hash or '')[:12]})"))
    for e in plan.changed_endpoints:
        subject = f"endpoint {e.name}"
        if e.create:
            rows.append((subject, "create", f"release {e.endpoint_release}"))
        elif e.live_endpoint_release != e.endpoint_release:
            rows.append((subject, "release", f"{e.live_endpoint_release or '(none)'} -> {e.endpoint_release}"))
        else:
            rows.append((subject, "update", f"release {e.endpoint_release}, served by other deployments"))
        if e.evaluation:
            recorded = f"; recorded so far: {e.preview.describe()}" if e.preview and e.evaluation.live else ""
            rows.append(("  evaluation", "run", describe_plan(e.evaluation) + recorded))
        for c in e.deployments:
            rows.append((f"  deployment {c.name}", c.change.value, c.detail))
        if e.traffic[0] != e.traffic[1]:
            how = ""
            if e.rollout and e.traffic[0]:
                how = " by steps: " + ", ".join(_step(s) for s in e.desired.strategy.steps)
            elif e.rollout:
                how = " at once: no live traffic to protect"
            rows.append(("  traffic", "change", f"{_split(e.traffic[0])} -> {_split(e.traffic[1])}{how}"))
        if e.mirror[0] != e.mirror[1]:
            rows.append(("  mirror", "change", f"{_split(e.mirror[0])} -> {_split(e.mirror[1])}"))
        if e.resume:
            rows.append(("  rollout", "resume", f"unfinished at step {e.resume.step + 1}"))
        rows += [("  note", "", note) for note in e.notes]
    rows += [(f"endpoint {name}", "delete", "no longer in the manifests") for name in plan.retire_endpoints]
    rows += [(f"serverless {s.name}", s.change.value, s.model_id) for s in plan.serverless]
    rows += [row for b in plan.batch for row in _batch_rows(b)]
    rows += [
        (f"{'model monitor' if c.monitor else 'job schedule'} {c.name}", _SCHEDULE_VERBS[c.change], ", ".join(c.fields))
        for c in plan.schedules
    ]
    rows += autoscale.rows(plan.autoscale)
    return rows


_SCHEDULE_VERBS = {Change.create: "create", Change.replace: "update", Change.delete: "delete"}


def _batch_rows(b: BatchPlan) -> list[tuple[str, str, str]]:
    rows = [(f"batch endpoint {b.name}", "create", "")] if b.create else []
    rows += [(f"  batch deployment {name}", "add", "") for name in b.add]
    if b.default[0] != b.default[1]:
        rows.append(("  default", "change", f"{b.default[0] or 'none'} -> {b.default[1]}"))
    return rows + [(f"  batch deployment {name}", "retire", "") for name in b.retire]


def print_table(plan: Plan, console: Console) -> None:
    console.print(f"[bold]environment[/] {plan.environment}   [bold]release[/] {plan.alias} ({plan.release_id})")
    for conflict in plan.conflicts:
        console.print(f"[red]refused:[/] {conflict}", soft_wrap=True)
    if not plan.changed:
        console.print("No changes: the workspace serves this release.")
        return
    table = Table(show_header=True, header_style="bold")
    for column in ("what", "change", "detail"):
        table.add_column(column)
    for row in lines(plan):
        table.add_row(*row)
    console.print(table)
    console.print(_counts(plan))


def markdown(plan: Plan, studio: Studio | None = None) -> str:
    """The PR comment's rollout part; with `studio` (an Azure environment), endpoints and live deployments link there."""
    out = [f"### amlops plan: `{plan.environment}`", "", f"Release **{plan.alias}** (`{plan.release_id}`)", ""]
    out += [f"> :no_entry: **refused:** {c}" for c in plan.conflicts]
    if not plan.changed:
        return "\n".join(out + ["No changes: the workspace serves this release.", ""])
    out += ["| what | change | detail |", "|---|---|---|"]
    endpoint = ""
    for subject, change, detail in lines(plan):
        kind, _, name = subject.strip().partition(" ")
        endpoint = name if kind == "endpoint" else endpoint
        out.append(
            f"| {_linked(kind, name, endpoint, change, studio) or subject.strip()} | {change} | {detail.replace('|', '/')} |"
        )
    return "\n".join(out + ["", _counts(plan), ""])


def _linked(kind: str, name: str, endpoint: str, change: str, studio: Studio | None) -> str | None:
    """An endpoint or deployment that exists already, as a link to its studio page (None: no link)."""
    if studio is None or change in ("create", "add"):
        return None
    if kind == "endpoint":
        return f"endpoint [{name}]({studio.endpoint(name)})"
    if kind == "deployment":
        return f"deployment [{name}]({studio.deployment(endpoint, name)})"
    return None


def to_json(plan: Plan) -> str:
    return json.dumps(plan_json(plan), indent=2)


def _counts(plan: Plan) -> str:
    return (
        f"{len(plan.models)} model version(s) to register, {len(plan.changed_endpoints)} endpoint(s) to change, "
        f"{len(plan.retire_endpoints)} to delete, {len(plan.serverless)} serverless change(s), "
        f"{len(plan.assets)} asset version(s) to register, {len(plan.batch)} batch endpoint(s) to change"
        + (f", {len(plan.schedules)} schedule change(s)." if plan.schedules else ".")
        + (f" {len(plan.autoscale)} autoscale setting(s) to change, after the rollouts." if plan.autoscale else "")
    )


def _split(split: dict[str, int]) -> str:
    return ", ".join(f"{n} {s} %" for n, s in sorted(split.items())) or "none"


def _step(step: Any) -> str:
    return f"mirror {step.mirror} %" if step.mirror is not None else f"weight {step.weight} %"
