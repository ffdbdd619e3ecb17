"""An MLClient for an environment: Azure's credential chain, or the local control plane's connection.

Against Azure, :func:`amlops.workspace.auth.azure_credential`: in a GitHub Actions job, the job's OIDC token,
asked for again whenever the Azure token nears expiry (a long GPU rollout outlives the first one);
elsewhere `DefaultAzureCredential` (a developer's `az login`, managed identities). A `platform: local` environment uses
the local control plane, started on demand, whose state directory is `$AMLOPS_LOCAL_STATE_DIR` when set.
Each local environment is its own workspace there, named after the environment (the control plane
creates a workspace on first reference), so `dev` and `staging` on one machine are as separate as in
Azure, and a release can be promoted from one to the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from amlops.manifests.environment import Environment, Platform

if TYPE_CHECKING:  # the SDK takes over a second to import: only commands that open a workspace pay for it
    from amlops.workspace.sdk import SdkWorkspace


def open_workspace(environment: Environment, state_dir: Path | None = None) -> SdkWorkspace:
    """The workspace of `environment`: for `platform: local`, starting the control plane if it is down."""
    if environment.platform is Platform.local:
        return _local(environment, state_dir)
    from azure.ai.ml import MLClient
    from azure.mgmt.monitor import MonitorManagementClient

    from amlops.workspace.auth import azure_credential
    from amlops.workspace.autoscale import SdkAutoscale
    from amlops.workspace.metrics import AzureMonitorMetrics
    from amlops.workspace.sdk import SdkWorkspace
    from amlops.workspace.transport import transport

    azure = environment.azure
    assert azure is not None  # the schema requires it for platform: azure
    credential = azure_credential()
    client = MLClient(credential, azure.subscription_id, azure.resource_group, azure.workspace, transport=transport())
    workspace_id = (
        f"/subscriptions/{azure.subscription_id}/resourceGroups/{azure.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{azure.workspace}"
    )
    metrics = AzureMonitorMetrics(credential, workspace_id + "/onlineEndpoints/{endpoint}")
    monitor = MonitorManagementClient(credential, azure.subscription_id, transport=transport())
    autoscale = SdkAutoscale(monitor, azure.resource_group, workspace_id, azure.location)
    return SdkWorkspace(environment.name, client, metrics, local=False, autoscale=autoscale)


def _local(environment: Environment, state_dir: Path | None) -> SdkWorkspace:
    from amlops.local import client as local_client
    from amlops.local import lifecycle
    from amlops.local.connection import LOCATION, MLTABLE_SCHEMA_PATH, default_state_dir
    from amlops.workspace.autoscale import SdkAutoscale
    from amlops.workspace.metrics import LocalMetrics
    from amlops.workspace.sdk import SdkWorkspace
    from amlops.workspace.transport import transport

    connection = lifecycle.start(state_dir or default_state_dir())  # idempotent: a running one is reused
    # Every call lands on the plane (ARM, blobs through its proxy, scoring), for which only its own CA signs: trust
    # that alone, 1 KB, not the bundle REQUESTS_CA_BUNDLE names for other clients (450 KB, about 50 ms to parse).
    verify = str(connection.ca_cert)
    client = local_client.ml_client(connection, environment.name, transport=transport(verify))
    scope = {
        "subscription": connection.subscription_id,
        "resource_group": connection.resource_group,
        "workspace": environment.name,
    }
    metrics = LocalMetrics(connection.resource_manager, scope, verify, local_client.credential(connection))
    monitor = local_client.monitor_client(connection, transport=transport(verify))
    workspace_id = (
        f"/subscriptions/{connection.subscription_id}/resourceGroups/{connection.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{environment.name}"
    )
    autoscale = SdkAutoscale(monitor, connection.resource_group, workspace_id, LOCATION)
    schema = connection.resource_manager.rstrip("/") + MLTABLE_SCHEMA_PATH
    return SdkWorkspace(environment.name, client, metrics, local=True, autoscale=autoscale, mltable_schema=schema, verify=verify)


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
