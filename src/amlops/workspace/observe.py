"""Reading a workspace's live state into the plain dataclasses of `amlops.rollout.live`.

Reads are proportional to what the release names: one list of endpoints, one list of deployments
per endpoint of interest, one read per model version, one list of serverless endpoints.
"""

from __future__ import annotations

from azure.ai.ml import MLClient
from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint
from azure.core.exceptions import ResourceNotFoundError

from amlops.release.bundle import Release
from amlops.rollout import record
from amlops.rollout.live import LiveDeployment, LiveEndpoint, LiveModel, LiveServerless, LiveState, nonzero
from amlops.rollout.plan import models_to_check


def observe(client: MLClient, release: Release) -> LiveState:
    """What the workspace has of what `release` names, plus what amlops manages for its environment."""
    endpoints = _endpoints(client, release.environment, set(release.endpoints))
    models: dict[tuple[str, str], LiveModel] = {}
    for pin in models_to_check(release):
        try:
            model = client.models.get(pin.name, version=pin.version)
        except ResourceNotFoundError:
            continue
        models[(pin.name, pin.version)] = LiveModel(pin.name, pin.version, dict(model.tags or {}))
    return LiveState(endpoints, models, _serverless(client))


def observe_managed(client: MLClient, environment: str) -> LiveState:
    """Every endpoint amlops manages for `environment`, whatever the manifests say now."""
    return LiveState(_endpoints(client, environment, set()), {}, _serverless(client))


def _endpoints(client: MLClient, environment: str, names: set[str]) -> dict[str, LiveEndpoint]:
    endpoints: dict[str, LiveEndpoint] = {}
    for endpoint in client.online_endpoints.list():
        if endpoint.name in names or (endpoint.tags or {}).get(record.ENVIRONMENT) == environment:
            endpoints[endpoint.name] = _endpoint(endpoint, list(client.online_deployments.list(endpoint.name)))
    return endpoints


def _serverless(client: MLClient) -> dict[str, LiveServerless]:
    return {s.name: LiveServerless(s.name, str(s.model_id), dict(s.tags or {})) for s in client.serverless_endpoints.list()}


def observe_endpoint(client: MLClient, name: str) -> LiveEndpoint | None:
    """One endpoint, fresh: what a rollout re-reads before and between its writes."""
    try:
        endpoint = client.online_endpoints.get(name)
    except ResourceNotFoundError:
        return None
    return _endpoint(endpoint, list(client.online_deployments.list(name)))


def state(value: object) -> str:
    """A provisioning state as Azure spells it: the SDK gives a str or an enum, depending on the call."""
    return str(getattr(value, "value", value))


def _endpoint(endpoint: OnlineEndpoint, deployments: list[OnlineDeployment]) -> LiveEndpoint:
    return LiveEndpoint(
        name=endpoint.name,
        provisioning_state=state(endpoint.provisioning_state),
        auth_mode=str(endpoint.auth_mode),
        traffic=nonzero(endpoint.traffic or {}),
        mirror_traffic=nonzero(endpoint.mirror_traffic or {}),
        tags=dict(endpoint.tags or {}),
        deployments={d.name: _deployment(d) for d in deployments},
        scoring_uri=endpoint.scoring_uri,
    )


def _deployment(d: OnlineDeployment) -> LiveDeployment:
    return LiveDeployment(
        name=d.name,
        model=str(d.model) if d.model else None,
        instance_type=str(d.instance_type or ""),
        instance_count=int(d.instance_count or 0),
        provisioning_state=state(d.provisioning_state),
        tags=dict(d.tags or {}),
    )
