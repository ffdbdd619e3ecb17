"""The Azure ML registry beside a workspace, through azure-ai-ml: where promoted models travel.

`models.share` copies the workspace's model version into the registry (no upload from here, no
retraining), so the registry holds the very bytes the source environment served.
"""

from __future__ import annotations

from azure.ai.ml import MLClient
from azure.core.exceptions import ResourceNotFoundError


class SdkRegistry:
    def __init__(self, workspace: MLClient, name: str) -> None:
        self.workspace, self.name = workspace, name
        self.client = MLClient(
            workspace._credential,
            workspace.subscription_id,
            registry_name=name,
            cloud=workspace._cloud,
            enable_telemetry=False,
            show_progress=False,
        )

    def model_tags(self, name: str, version: str) -> dict[str, str] | None:
        try:
            return dict(self.client.models.get(name, version=version).tags or {})
        except ResourceNotFoundError:
            return None

    def share(self, name: str, version: str) -> None:
        self.workspace.models.share(name, version, registry_name=self.name, share_with_name=name, share_with_version=version)
