"""Links into Azure ML studio, so that status, apply and PR comments lead to the page people already know.

Every studio page names its workspace in `wsid`, the workspace's ARM id. The forms:
- a run: `https://ml.azure.com/runs/<run id>?wsid=...`, as azure-ai-ml builds it
  (azure/ai/ml/entities/_job/_studio_url_from_job_id.py);
- an online endpoint: `https://ml.azure.com/endpoints/realtime/<endpoint>/detail?wsid=...`, its
  deployments' logs under the same endpoint's `logs` tab (`.../<endpoint>/logs?wsid=...&deployment=<d>`);
- a model version: `https://ml.azure.com/model/<name>:<version>/details?wsid=...`.
The local control plane's page serves the same paths under its own address, so one builder links both.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from amlops.manifests.environment import Environment

STUDIO = "https://ml.azure.com"


def workspace_id(subscription: str, resource_group: str, workspace: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"


@dataclass(frozen=True)
class Studio:
    """The studio pages of one workspace."""

    wsid: str
    base: str = STUDIO

    def _page(self, path: str, **query: str) -> str:
        extra = "".join(f"&{k}={quote(v, safe='')}" for k, v in query.items())
        return f"{self.base}/{path}?wsid={self.wsid}{extra}"

    def endpoint(self, name: str) -> str:
        return self._page(f"endpoints/realtime/{quote(name)}/detail")

    def deployment(self, endpoint: str, name: str) -> str:
        return self._page(f"endpoints/realtime/{quote(endpoint)}/logs", deployment=name)

    def model(self, name: str, version: str) -> str:
        return self._page(f"model/{quote(name)}:{quote(version)}/details")

    def run(self, run_id: str) -> str:
        return self._page(f"runs/{quote(run_id)}")


def studio(environment: Environment) -> Studio | None:
    """Azure ML studio for an Azure environment; None for a local one (its page is the control plane's)."""
    azure = environment.azure
    if azure is None:
        return None
    return Studio(workspace_id(str(azure.subscription_id), azure.resource_group, azure.workspace))
