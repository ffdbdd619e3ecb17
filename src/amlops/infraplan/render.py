"""A plan as a table for people, markdown for pull-request comments, or JSON for machines.

The JSON shape is stable: `resources[]` each with `type` (the Pulumi type token), `name` (the
logical name), `azure_name` and `settings`; `policies[]`; `cost`; `outputs`; and `diff` with `--base`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from amlops.infraplan.cost import ASSUMPTIONS, COMPUTE, CostLine
from amlops.infraplan.diff import ResourceChange, SettingChange, flatten
from amlops.infraplan.inventory import NAME_INPUTS, Resource
from amlops.infraplan.plan import Plan

#: The settings a reviewer looks at first, per type: label -> input path.
KEY_SETTINGS: dict[str, dict[str, str]] = {
    "azure-native:machinelearningservices:Workspace": {
        "public access": "publicNetworkAccess",
        "isolation": "managedNetwork.isolationMode",
        "datastore auth": "systemDatastoresAuthMode",
    },
    "azure-native:machinelearningservices:Compute": {
        "size": "properties.properties.vmSize",
        "priority": "properties.properties.vmPriority",
        "min nodes": "properties.properties.scaleSettings.minNodeCount",
        "max nodes": "properties.properties.scaleSettings.maxNodeCount",
        "idle before scale-down": "properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown",
        "node public IP": "properties.properties.enableNodePublicIp",
    },
    "azure-native:machinelearningservices:Registry": {"public access": "publicNetworkAccess"},
    "azure-native:storage:StorageAccount": {
        "sku": "sku.name",
        "public access": "publicNetworkAccess",
        "shared keys": "allowSharedKeyAccess",
        "tls": "minimumTlsVersion",
    },
    "azure-native:keyvault:Vault": {
        "public access": "properties.publicNetworkAccess",
        "purge protection": "properties.enablePurgeProtection",
        "rbac": "properties.enableRbacAuthorization",
    },
    "azure-native:containerregistry:Registry": {
        "sku": "sku.name",
        "public access": "publicNetworkAccess",
        "admin user": "adminUserEnabled",
    },
    "azure-native:authorization:RoleAssignment": {"role": "roleDefinitionId", "scope": "scope", "principal": "principalType"},
    "azure-native:authorization:RoleDefinition": {"role name": "roleName", "id": "roleDefinitionId"},
    "azure-native:managedidentity:FederatedIdentityCredential": {"subject": "subject"},
    "azure-native:monitor:DiagnosticSetting": {"resource": "resourceUri"},
    "azure-native:network:Subnet": {"prefix": "addressPrefix"},
    "azure-native:network:VirtualNetwork": {"address space": "addressSpace.addressPrefixes"},
}


#: Azure's built-in role definition ids, the same GUID in every subscription, by role name, from
#: Microsoft's "Azure built-in roles" reference (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BUILTIN_ROLES: dict[str, str] = {
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "f6c7c914-8db3-469d-8ca1-694a8f32e121": "AzureML Data Scientist",
    "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815": "AzureML Compute Operator",
    "1823dd4f-9b8c-4ab6-ab4e-7397a3684615": "AzureML Registry User",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "69566ab7-960f-475b-8e7c-b3118f30c6bd": "Storage File Data Privileged Contributor",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "749f88d5-cbae-40b8-bcfc-e573ddc772fa": "Monitoring Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
}

#: What people call each resource type in a review.
NOUNS = {
    "azure-native:machinelearningservices:Compute": "cluster",
    "azure-native:machinelearningservices:Workspace": "workspace",
    "azure-native:machinelearningservices:Registry": "registry",
    "azure-native:storage:StorageAccount": "storage account",
    "azure-native:keyvault:Vault": "key vault",
    "azure-native:containerregistry:Registry": "container registry",
    "azure-native:authorization:RoleAssignment": "role assignment",
    "azure-native:authorization:RoleDefinition": "custom role",
    "azure-native:managedidentity:UserAssignedIdentity": "identity",
    "azure-native:managedidentity:FederatedIdentityCredential": "federated credential",
    "azure-native:monitor:DiagnosticSetting": "diagnostic setting",
    "azure-native:operationalinsights:Workspace": "log analytics workspace",
    "azure-native:applicationinsights:Component": "application insights",
    "azure-native:resources:ResourceGroup": "resource group",
}


def noun(type_token: str) -> str:
    return NOUNS.get(type_token) or type_token.rsplit(":", 1)[-1]


def readable(value: Any) -> str:
    """A setting as people know it: role names for role ids, `type/name` for other ARM ids, whole numbers."""
    if value is None:
        return "(unset)"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        if "/roleDefinitions/" in value:
            guid = value.rsplit("/", 1)[-1]
            return BUILTIN_ROLES.get(guid, f"role {guid}")
        if value.startswith("/subscriptions/"):
            return "/".join(value.split("/")[-2:])
        return value
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value, separators=(",", " "), default=str) if isinstance(value, list | dict) else str(value)


def label(type_token: str, path: str) -> str:
    """The reviewer's name for an input path (KEY_SETTINGS), else the path itself."""
    if path == NAME_INPUTS.get(type_token):
        return "name"
    for name, known in KEY_SETTINGS.get(type_token, {}).items():
        if known == path:
            return name
    return path


def settings(resource: Resource) -> dict[str, Any]:
    flat = flatten(resource.inputs)
    out = {label: flat[path] for label, path in KEY_SETTINGS.get(resource.type, {}).items() if path in flat}
    return {k: readable(v) for k, v in out.items()}


def _line(line: CostLine) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "name": line.name,
        "sku": line.sku,
        "priority": line.priority,
        "min_count": line.min_count,
        "max_count": line.max_count,
        "unit_price": line.unit_price,
        "unit": line.unit,
        "monthly_min": line.monthly_min,
        "monthly_max": line.monthly_max,
        "estimate": line.estimate,
        "price_date": line.price_date,
        "note": line.note,
    }


def as_data(plan: Plan) -> dict[str, Any]:
    data: dict[str, Any] = {
        "stack": plan.stack,
        "resources": [
            {"type": r.type, "name": r.name, "azure_name": r.azure_name, "settings": settings(r)}
            for r in plan.inventory.azure_resources
        ],
        "policies": [
            {"name": p.policy, "enforcement": p.enforcement, "passed": p.passed, "violations": [v.__dict__ for v in p.violations]}
            for p in plan.policies
        ],
        "cost": {
            "currency": plan.estimate.currency,
            "monthly_min": plan.estimate.monthly_min,
            "monthly_max": plan.estimate.monthly_max,
            "price_dates": plan.estimate.price_dates,
            "assumptions": ASSUMPTIONS,
            "lines": [_line(line) for line in plan.estimate.lines],
        },
        "outputs": plan.inventory.outputs,
    }
    if plan.base:
        data["diff"] = {
            "base": plan.base.ref,
            "resources": [dataclasses.asdict(c) for c in plan.base.resources],
            "cost": {
                "monthly_min": plan.base.cost.monthly_min,
                "monthly_max": plan.base.cost.monthly_max,
                "lines": [
                    dict(zip(("kind", "name", "base_monthly_max", "monthly_max"), line, strict=False))
                    for line in plan.base.cost.lines
                ],
            },
        }
    return data


def as_json(plan: Plan) -> str:
    return json.dumps(as_data(plan), indent=2, sort_keys=False)


def _fmt(settings_: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in settings_.items()).replace("|", "/")


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}${abs(value):,.2f}"


#: Pulumi's markers for what happens to a resource.
MARKS = {"create": "+ create", "update": "~ update", "replace": "+- replace", "delete": "- delete"}


def _known_name(resource: Resource | ResourceChange) -> str:
    """The name people know: the Azure name, unless it is a GUID (role assignments), then the program's."""
    return resource.azure_name if resource.azure_name and not _GUID.fullmatch(resource.azure_name) else resource.name


def _who(change: ResourceChange) -> str:
    return f"{noun(change.type)} " + " → ".join(f"**{part}**" for part in _known_name(change).split(" → "))


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _what(change: ResourceChange, resource: Resource | None) -> str:
    """old -> new of every changed setting; for a new or deleted resource its key settings."""
    if change.settings:
        return "<br>".join(
            f"{label(change.type, c.path)}: {readable(c.old)} → {readable(c.new)}".replace("|", "/") for c in change.settings
        )
    shown = settings(resource) if resource else {}
    return ", ".join(f"{k}: {v}" for k, v in shown.items()).replace("|", "/")


def _pair_replacements(
    changes: list[ResourceChange], base: dict[tuple[str, str], Resource], head: dict[tuple[str, str], Resource]
) -> list[ResourceChange]:
    """A resource deleted and one of its kind created under the same stem (`cpu-3yl6z`, `cpu-iw65h`: the
    program renames a cluster whose size changes, since Azure ignores that change in place) as one replacement."""
    deleted = {(c.type, c.name.rsplit("-", 1)[0]): c for c in changes if c.action == "delete" and "-" in c.name}
    out, paired = [], set()
    for c in changes:
        old = deleted.get((c.type, c.name.rsplit("-", 1)[0])) if c.action == "create" and "-" in c.name else None
        if old is None:
            out.append(c)
            continue
        paired.add(old.name)
        before, after = flatten(base[(old.type, old.name)].inputs), flatten(head[(c.type, c.name)].inputs)
        paths = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
        moved = [SettingChange(p, before.get(p), after.get(p)) for p in paths]
        out.append(ResourceChange("replace", c.type, c.name, paths, f"{old.azure_name} → {c.azure_name}", moved))
    return [c for c in out if not (c.action == "delete" and c.name in paired)]


def _price(costs: dict[tuple[str, str], tuple[float, float]], change: ResourceChange) -> tuple[float, float] | None:
    """The cost line of a cluster, or of both clusters of a replacement (old name → new name)."""
    names = change.azure_name.split(" → ")
    found = [costs.pop(("cluster", n), None) for n in names]
    if all(f is None for f in found):
        return None
    return (sum(f[0] for f in found if f), sum(f[1] for f in found if f))


def _line_change(old: CostLine | None, new: CostLine | None) -> str:
    """What moved a cost line: its SKU and instance counts, old -> new."""
    if old is None or new is None:
        line = old or new
        assert line is not None
        return f"{line.sku} × {line.max_count}"
    parts = [f"size: {old.sku} → {new.sku}"] if old.sku != new.sku else []
    if (old.min_count, old.max_count) != (new.min_count, new.max_count):
        parts.append(f"instances: {old.max_count} → {new.max_count}")
    return "<br>".join(parts) or "price"


def _cost_cell(old: float, new: float) -> str:
    return f"{_money(old)} → {_money(new)} (**{_signed(new - old)}**)"


def change_rows(plan: Plan) -> list[tuple[str, str, str, str]]:
    """(marked action, resource, settings old -> new, monthly cost delta) per changed resource and cost line."""
    assert plan.base is not None
    head = {(r.type, r.name): r for r in plan.inventory.azure_resources}
    base = {(r.type, r.name): r for r in plan.base.inventory.azure_resources} if plan.base.inventory else {}
    costs = {(kind, name): (old, new) for kind, name, old, new in plan.base.cost.lines}
    rows = []
    for c in _pair_replacements(plan.base.resources, base, head):
        resource = head.get((c.type, c.name)) or base.get((c.type, c.name))
        priced = _price(costs, c) if c.type == COMPUTE else None
        rows.append((MARKS[c.action], _who(c), _what(c, resource), _cost_cell(*priced) if priced else ""))
    before = {(line.kind, line.name): line for line in plan.base.estimate.lines} if plan.base.estimate else {}
    after = {(line.kind, line.name): line for line in plan.estimate.lines}
    for key, (old, new) in sorted(costs.items()):  # endpoints: priced, but not Pulumi resources
        action = "create" if key not in before else "delete" if key not in after else "update"
        rows.append(
            (MARKS[action], f"{key[0]} **{key[1]}**", _line_change(before.get(key), after.get(key)), _cost_cell(old, new))
        )
    return rows


def as_markdown(plan: Plan) -> str:
    out = [
        f"### `{plan.stack}`: {len(plan.inventory.azure_resources)} resources, "
        f"{_money(plan.estimate.monthly_min)}–{_money(plan.estimate.monthly_max)} / month"
    ]
    if plan.base:
        b = plan.base
        rows = change_rows(plan)
        summary = ", ".join(f"{sum(r[0] == mark for r in rows)} to {a}" for a, mark in MARKS.items())
        out += [
            "",
            f"**Changes against `{b.ref}`**: {summary}; monthly cost **{_signed(b.cost.monthly_max)}** at max "
            f"({_signed(b.cost.monthly_min)} idle)",
            "",
        ]
        if rows:
            out += ["| | resource | change (old → new) | monthly cost at max |", "|---|---|---|---|"]
            out += [f"| `{mark}` | {who} | {what} | {money} |" for mark, who, what, money in rows]
            out.append(f"| | **total** | | **{_signed(b.cost.monthly_max)}** |")
        else:
            out.append("No resource changes.")
    failed = [p for p in plan.policies if not p.passed]
    out += ["", f"**Policies**: {len(plan.policies) - len(failed)}/{len(plan.policies)} passed"]
    out += [f"- ❌ `{p.policy}` ({p.enforcement}): {v.name}: {v.message}" for p in failed for v in p.violations]
    out += ["", "<details><summary>Monthly cost by line</summary>", ""]
    out += ["| kind | name | SKU | count | per month | price |", "|---|---|---|---|---|---|"]
    for line in plan.estimate.lines:
        out.append(
            f"| {line.kind} | {line.name} | {line.sku} {line.priority} | {line.min_count}–{line.max_count} "
            f"| {_monthly(line)} | {_basis(line)} |"
        )
    out += [
        "",
        f"<sub>Prices: infra/prices.csv ({', '.join(plan.estimate.price_dates) or 'none used'}), 730 h/month; "
        f"{len(plan.estimate.estimated)} of {len(plan.estimate.lines)} lines priced from estimates; assumes "
        f"{ASSUMPTIONS['storage_gb']} GB stored and {ASSUMPTIONS['log_ingestion_gb_per_month']} GB of logs a month.</sub>",
    ]
    out += ["", "</details>", "", "<details><summary>Resources</summary>", "", "| type | name | settings |", "|---|---|---|"]
    out += [f"| {noun(r.type)} | {_known_name(r)} | {_fmt(settings(r))} |" for r in plan.inventory.azure_resources]
    out += ["", "</details>"]
    return "\n".join(out)


def _monthly(line: CostLine) -> str:
    if line.kind == "serverless":
        return "usage-priced"
    if line.unit_price is None:
        return f"? ({line.note})"
    return f"{_money(line.monthly_min)}–{_money(line.monthly_max)}"


def _basis(line: CostLine) -> str:
    """Whether a reviewer can trust the figure: a dated public dataset, or an estimate (and why)."""
    if line.unit_price is None:
        return ""
    return f"estimate ({line.note})" if line.estimate else f"dataset, {line.price_date}"


def as_table(plan: Plan) -> Any:
    """Rich renderables for a terminal."""
    from rich.console import Group
    from rich.table import Table

    resources = Table(title=f"{plan.stack}: resources", title_justify="left")
    for column in ("type", "name", "settings"):
        resources.add_column(column)
    for r in plan.inventory.azure_resources:
        resources.add_row(r.type.removeprefix("azure-native:"), r.name, _fmt(settings(r)))
    policies = Table(title="policies", title_justify="left")
    for column in ("policy", "result"):
        policies.add_column(column)
    for p in plan.policies:
        policies.add_row(
            p.policy,
            "[green]passed[/]" if p.passed else "[red]" + "; ".join(f"{v.name}: {v.message}" for v in p.violations) + "[/]",
        )
    costs = Table(
        title=f"monthly cost: {_money(plan.estimate.monthly_min)} idle – {_money(plan.estimate.monthly_max)} at max",
        title_justify="left",
    )
    for column in ("kind", "name", "SKU", "count", "unit price", "min", "max", "price"):
        costs.add_column(column)
    for line in plan.estimate.lines:
        unit = (
            "usage-priced"
            if line.kind == "serverless"
            else (f"{line.unit_price:g}/{line.unit}" if line.unit_price is not None else f"? {line.note}")
        )
        costs.add_row(
            line.kind,
            line.name,
            f"{line.sku} {line.priority}".strip(),
            f"{line.min_count}–{line.max_count}",
            unit,
            _money(line.monthly_min),
            _money(line.monthly_max),
            _basis(line),
        )
    parts: list[Any] = [resources, policies, costs]
    if plan.base:
        changes = Table(
            title=f"changes against {plan.base.ref}: {_signed(plan.base.cost.monthly_max)} / month at max", title_justify="left"
        )
        for column in ("", "resource", "change (old → new)", "monthly cost at max"):
            changes.add_column(column)
        for row in change_rows(plan):
            changes.add_row(*(cell.replace("**", "").replace("<br>", "\n") for cell in row))
        parts.append(changes)
    return Group(*parts)
