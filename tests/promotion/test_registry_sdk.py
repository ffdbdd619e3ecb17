"""The registry step with the real azure-ai-ml SDK against the local control plane: the same bytes move."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.ai.ml.entities import Model

from amlops.promotion.plan import ModelShare, Refusal
from amlops.promotion.registry import WorkspaceRegistry
from amlops.release.bundle import hash_path
from amlops.state.record import CONTENT_HASH
from amlops.workspace.registry import SdkRegistry
from amlops.workspace.sdk import SdkWorkspace

pytestmark = pytest.mark.slow
ARTIFACT = Path(__file__).resolve().parents[2] / "models" / "churn" / "v1"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from amlops.local import server
    from amlops.local.client import ml_client

    state = tmp_path_factory.mktemp("local")
    connection = server.start(state)
    try:
        yield ml_client(connection)
    finally:
        server.stop(state)


def sdk_registry(client, name: str) -> WorkspaceRegistry:
    """Promotion's registry step as the CLI wires it: the registry fed from the source workspace."""
    source = SdkWorkspace("local", client, metrics=None, local=True)  # type: ignore[arg-type]  # no gates here
    return WorkspaceRegistry(source, SdkRegistry(client, name))


def register(client, version: str, content_hash: str) -> None:
    client.models.create_or_update(
        Model(name="churn", version=version, path=str(ARTIFACT), type="custom_model", tags={CONTENT_HASH: content_hash})
    )


def test_a_model_is_shared_once_as_the_same_bytes(workspace) -> None:
    digest = hash_path(ARTIFACT)
    register(workspace, "7", digest)
    registry = sdk_registry(workspace, "amlopsreg")
    model = ModelShare("churn", "7", digest, "amlopsreg")
    assert registry.missing(model) is True
    registry.share(model)
    assert registry.missing(model) is False
    shared = SdkRegistry(workspace, "amlopsreg").client.models.get("churn", version="7")
    assert shared.id.startswith("azureml://registries/amlopsreg/models/churn/versions/7")
    # The registry's copy carries the workspace version's content hash: later promotions check it.
    assert shared.tags[CONTENT_HASH] == digest


def test_a_version_meaning_other_bytes_is_refused(workspace) -> None:
    register(workspace, "8", "0" * 64)
    registry = sdk_registry(workspace, "amlopsreg")
    with pytest.raises(Refusal, match="a released version must never change"):
        registry.missing(ModelShare("churn", "8", hash_path(ARTIFACT), "amlopsreg"))


def test_a_model_nowhere_is_refused(workspace) -> None:
    with pytest.raises(Refusal, match="neither in the source workspace nor in registry"):
        sdk_registry(workspace, "amlopsreg").missing(ModelShare("churn", "99", None, "amlopsreg"))
