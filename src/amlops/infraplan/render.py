"""A plan as a table for people, markdown for pull-request comments, or JSON for machines.

The JSON shape is stable: `resources[]` each with `type` (the Pulumi type token), `name` (the
logical name), `azure_name` and `settings`; `policies[]`; `cost`; `outputs`; and `diff` with `--base`.
"""

from __future__ import annotations

import json
from typing import Any

from amlops.infraplan.cost import ASSUMPTIONS, CostLine
from amlops.infraplan.diff import flatten
from amlops.infraplan.inventory import Resource
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
        "min": "properties.properties.scaleSettings.minNodeCount",
        "max": "properties.properties.scaleSettings.maxNodeCount",
        "idle": "properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown",
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
    "azure-native:managedidentity:FederatedIdentityCredential": {"subject": "subject"},
    "azure-native:monitor:DiagnosticSetting": {"resource": "resourceUri"},
    "azure-native:network:Subnet": {"prefix": "addressPrefix"},
    "azure-native:network:VirtualNetwork": {"address space": "addressSpace.addressPrefixes"},
}


def settings(resource: Resource) -> dict[str, Any]:
    flat = flatten(resource.inputs)
    out = {label: flat[path] for label, path in KEY_SETTINGS.get(resource.type, {}).items() if path in flat}
    for label in ("role", "scope", "resource"):  # ARM ids: the last segments say enough
        if isinstance(out.get(label), str):
            out[label] = "/".join(out[label].split("/")[-2:])
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in out.items()}


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
            "resources": [c.__dict__ for c in plan.base.resources],
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
    return ", ".join(f"{k}={v}" for k, v in settings_.items())


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}${abs(value):,.2f}"


def as_markdown(plan: Plan) -> str:
    out = [
        f"### `{plan.stack}`: {len(plan.inventory.azure_resources)} resources, "
        f"{_money(plan.estimate.monthly_min)}–{_money(plan.estimate.monthly_max)} / month"
    ]
    if plan.base:
        b = plan.base
        out += [
            "",
            f"**Changes against `{b.ref}`** (monthly {_signed(b.cost.monthly_min)} idle, {_signed(b.cost.monthly_max)} at max)",
            "",
        ]
        out += [
            f"- {c.action} `{c.type}` **{c.name}**" + (f": {', '.join(c.paths)}" if c.paths else "") for c in b.resources
        ] or ["- no resource changes"]
        out += [f"- cost of {kind} **{name}**: {_money(old)} → {_money(new)} at max" for kind, name, old, new in b.cost.lines]
    failed = [p for p in plan.policies if not p.passed]
    out += ["", f"**Policies**: {len(plan.policies) - len(failed)}/{len(plan.policies)} passed"]
    out += [f"- ❌ `{p.policy}` ({p.enforcement}): {v.name}: {v.message}" for p in failed for v in p.violations]
    out += ["", "| cost | name | SKU | count | per month | price |", "|---|---|---|---|---|---|"]
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
    out += ["", "<details><summary>Resources</summary>", "", "| type | name | settings |", "|---|---|---|"]
    out += [f"| `{r.type}` | {r.name} | {_fmt(settings(r))} |" for r in plan.inventory.azure_resources]
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
        for column in ("action", "type", "name", "changed"):
            changes.add_column(column)
        for c in plan.base.resources:
            changes.add_row(c.action, c.type.removeprefix("azure-native:"), c.name, ", ".join(c.paths))
        parts.append(changes)
    return Group(*parts)
