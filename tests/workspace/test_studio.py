"""Links into Azure ML studio: the forms studio uses, for Azure environments only."""

from __future__ import annotations

from pathlib import Path

from amlops.manifests import validate_repository
from amlops.workspace.studio import Studio, studio, workspace_id

REPO = Path(__file__).resolve().parents[2]
WSID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"


def test_the_studio_page_forms() -> None:
    links = Studio(workspace_id("s", "rg", "ws"))
    assert links.endpoint("churn") == f"https://ml.azure.com/endpoints/realtime/churn/detail?wsid={WSID}"
    assert (
        links.deployment("churn", "main-1") == f"https://ml.azure.com/endpoints/realtime/churn/logs?wsid={WSID}&deployment=main-1"
    )
    assert links.model("churn", "2") == f"https://ml.azure.com/model/churn:2/details?wsid={WSID}"
    assert links.run("run 1") == f"https://ml.azure.com/runs/run%201?wsid={WSID}"


def test_azure_environments_link_to_their_workspace_and_local_ones_do_not() -> None:
    repo, problems = validate_repository(REPO)
    assert not problems
    dev = repo.environments["dev"].environment
    assert dev.azure is not None
    links = studio(dev)
    assert links is not None and links.wsid.endswith(
        f"/resourceGroups/{dev.azure.resource_group}/providers/Microsoft.MachineLearningServices/workspaces/{dev.azure.workspace}"
    )
    assert studio(repo.environments["local"].environment) is None
