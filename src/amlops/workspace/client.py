"""An MLClient for an environment: Azure's credential chain, or the local control plane's connection.

Against Azure, :func:`amlops.auth.azure_credential`: in a GitHub Actions job, the job's OIDC token,
asked for again whenever the Azure token nears expiry (a long GPU rollout outlives the first one);
elsewhere `DefaultAzureCredential` (a developer's `az login`, managed identities). A `platform: local` environment uses
the local control plane, started on demand, whose state directory is `$AMLOPS_LOCAL_STATE_DIR` when set.
Each local environment is its own workspace there, named after the environment (the control plane
creates a workspace on first reference), so `dev` and `staging` on one machine are as separate as in
Azure, and a release can be promoted from one to the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.ai.ml import MLClient

from amlops.manifests.environment import Environment, Platform


@dataclass(frozen=True)
class Workspace:
    """An environment's workspace as the rollout side reaches it."""

    environment: Environment
    client: MLClient
    local: bool  # the local control plane: no production traffic, metrics from its admin route
    credential: Any = None  # for the metrics: Azure Monitor's in Azure, the control plane's metrics route locally
    admin_url: str | None = None  # local only: the control plane's base URL for admin routes
    ca_bundle: str | None = None  # local only: the CA its TLS certificates chain to

    @property
    def resource_id(self) -> str:
        c = self.client
        return (
            f"/subscriptions/{c.subscription_id}/resourceGroups/{c.resource_group_name}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{c.workspace_name}"
        )


def open_workspace(environment: Environment, state_dir: Path | None = None) -> Workspace:
    """The workspace of `environment`: for `platform: local`, starting the control plane if it is down."""
    if environment.platform is Platform.local:
        return _local(environment, state_dir)
    from amlops.auth import azure_credential

    azure = environment.azure
    assert azure is not None  # the schema requires it for platform: azure
    credential = azure_credential()
    client = MLClient(credential, azure.subscription_id, azure.resource_group, azure.workspace)
    return Workspace(environment, client, local=False, credential=credential)


def _local(environment: Environment, state_dir: Path | None) -> Workspace:
    from amlops.local import client as local_client
    from amlops.local import server
    from amlops.local.connection import default_state_dir

    connection = server.start(state_dir or default_state_dir())  # idempotent: a running one is reused
    client = local_client.ml_client(connection, environment.name)
    return Workspace(
        environment,
        client,
        local=True,
        credential=local_client.credential(connection),
        admin_url=connection.resource_manager,
        ca_bundle=connection.ca_bundle,
    )


def registry_name(environment: Environment) -> str:
    """The registry releases are promoted into `environment` through.

    Its infrastructure's; a local environment without infrastructure uses the local control plane's
    registry, shared by every local environment on the machine. That name is fixed (the control
    plane creates a registry on first reference), so the references a promotion commits into a
    manifest never depend on which state directory the control plane ran in.
    """
    if environment.infrastructure is not None:
        return environment.infrastructure.registry
    assert environment.platform is Platform.local  # the schema requires infrastructure for platform: azure
    from amlops.local.connection import DEFAULT_REGISTRY

    return DEFAULT_REGISTRY
