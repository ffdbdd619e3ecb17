"""What changes between two evaluations of the program (a base revision and this one), and what it costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amlops.infraplan.cost import Estimate
from amlops.infraplan.inventory import NAME_INPUTS, Inventory, Resource

#: Inputs Azure cannot change in place, so that Pulumi replaces the resource (delete, then create):
#: its name, resource group and region (ARM's resource identity), and every input of a role
#: assignment, which Azure refuses to update ("RoleAssignmentUpdateNotPermitted").
REPLACED_BY = ("location", "resourceGroupName")
IMMUTABLE_TYPES = ("azure-native:authorization:RoleAssignment",)


@dataclass(frozen=True)
class SettingChange:
    path: str  # the input path, `a.b.c`
    old: Any  # None: not set
    new: Any


@dataclass(frozen=True)
class ResourceChange:
    action: str  # create | update | replace | delete
    type: str
    name: str
    paths: list[str]  # changed input paths, for updates and replacements
    azure_name: str = ""
    settings: list[SettingChange] = field(default_factory=list)  # old -> new of every changed path


@dataclass(frozen=True)
class CostChange:
    monthly_min: float
    monthly_max: float
    lines: list[tuple[str, str, float, float]]  # (kind, name, base max, head max) of lines that differ


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested inputs as `a.b.c` paths; lists stay whole values (order matters to Azure)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _replaces(resource: Resource, paths: list[str]) -> bool:
    forcing = {*REPLACED_BY, NAME_INPUTS.get(resource.type, "")}
    return resource.type in IMMUTABLE_TYPES or any(p in forcing for p in paths)


def resources(base: Inventory | None, head: Inventory) -> list[ResourceChange]:
    before = {(r.type, r.name): r for r in base.azure_resources} if base else {}
    after = {(r.type, r.name): r for r in head.azure_resources}
    changes = [ResourceChange("create", *key, [], after[key].azure_name) for key in sorted(after.keys() - before.keys())]
    changes += [ResourceChange("delete", *key, [], before[key].azure_name) for key in sorted(before.keys() - after.keys())]
    for key in sorted(after.keys() & before.keys()):
        old, new = flatten(before[key].inputs), flatten(after[key].inputs)
        paths = sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))
        if paths:
            action = "replace" if _replaces(after[key], paths) else "update"
            settings = [SettingChange(p, old.get(p), new.get(p)) for p in paths]
            changes.append(ResourceChange(action, *key, paths, after[key].azure_name, settings))
    return changes


def cost(base: Estimate | None, head: Estimate) -> CostChange:
    old = {(line.kind, line.name): line.monthly_max for line in base.lines} if base else {}
    new = {(line.kind, line.name): line.monthly_max for line in head.lines}
    lines = [
        (kind, name, old.get((kind, name), 0.0), new.get((kind, name), 0.0))
        for kind, name in sorted(old.keys() | new.keys())
        if old.get((kind, name)) != new.get((kind, name))
    ]
    return CostChange(
        round(head.monthly_min - (base.monthly_min if base else 0.0), 2),
        round(head.monthly_max - (base.monthly_max if base else 0.0), 2),
        lines,
    )
