"""A release for people (a table) and for programs (JSON): what `amlops release show` prints."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from amlops.release.bundle import DeploymentRelease, Release


def release_document(release: Release) -> dict[str, Any]:
    """Everything a release pins, as plain JSON: its id, and per deployment what runs where."""
    return {
        "environment": release.environment,
        "id": release.id,
        "alias": release.alias,
        "endpoints": {
            name: {
                "auth_mode": endpoint.auth_mode,
                "traffic": endpoint.traffic,
                "mirror_traffic": endpoint.mirror_traffic,
                "deployments": {d: _deployment(r) for d, r in sorted(endpoint.deployments.items())},
            }
            for name, endpoint in sorted(release.endpoints.items())
        },
        "serverless": {name: {"model_id": s.model_id} for name, s in sorted(release.serverless.items())},
    }


def _deployment(deployment: DeploymentRelease) -> dict[str, Any]:
    model = deployment.model
    return {
        "azure_name": deployment.azure_name,
        "model": {
            "name": model.name,
            "version": model.version,
            "reference": model.reference,
            "content_hash": model.content_hash,
            "path": model.path,
        },
        "code_hash": deployment.code_hash,
        "environment_hash": deployment.environment_hash,
        "instance_type": deployment.instance_type,
        "instance_count": deployment.instance_count,
        "source": deployment.source,
    }


def release_table(release: Release) -> Table:
    """One row per deployment (and serverless endpoint). Hashes cut to 12 characters, enough to compare;
    the code and environment hashes are in the JSON."""
    table = Table(title=f"release {release.alias} ({release.id}) in {release.environment}", title_justify="left")
    for column in ("endpoint", "deployment", "model", "content", "instances", "traffic"):
        table.add_column(column, overflow="fold", no_wrap=column not in ("model", "instances"))
    for name, endpoint in sorted(release.endpoints.items()):
        for d, r in sorted(endpoint.deployments.items()):
            mirror = endpoint.mirror_traffic.get(d)
            traffic = f"{endpoint.traffic.get(d, 0)}%" + (f" +{mirror}% mirror" if mirror else "")
            content = r.model.content_hash[:12] if r.model.content_hash else "-"
            instances = f"{r.instance_count} × {r.instance_type}"
            table.add_row(name, r.azure_name, r.model.reference, content, instances, traffic)
    for name, serverless in sorted(release.serverless.items()):
        table.add_row(name, "serverless", serverless.model_id, "-", "-", "-")
    return table
