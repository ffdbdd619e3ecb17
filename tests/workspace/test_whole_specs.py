"""What the files say is what Azure gets: over every managed online endpoint and deployment file of the
azureml-examples corpus, the request body amlops sends equals the body azure-ai-ml builds from the same file.

How, precisely: `SdkWorkspace.put_endpoint` / `begin_deployment` run against a real `MLClient` whose
`online_endpoints.begin_create_or_update` / `online_deployments.begin_create_or_update` are replaced by a
recorder of the entity handed to them (nothing is sent); the recorded entity's REST object
(`_to_rest_online_endpoint(location)` / `_to_rest_object(location=...)`, the very objects those
operations serialise into the PUT body) is compared, as a dict, with the REST object of the entity the
SDK's own loader builds from the file with amlops's documented overrides passed as the loader's
`params_override` (what the CLI's `--set` does): for an endpoint, tags merged and traffic and mirror;
for a deployment, its Azure name, endpoint, model pin, instance type and count, tags merged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml import MLClient, load_online_deployment, load_online_endpoint
from azure.core.credentials import AccessToken

from amlops.manifests.load import _kind
from amlops.manifests.yamlio import plain, read_yaml
from amlops.workspace.interface import DeploymentSpec, EndpointSpec
from amlops.workspace.sdk import SdkWorkspace

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("AMLOPS_CORPUS", REPO.parent / "shared" / "corpus" / "azureml-examples"))
LOCATION = "westeurope"
#: Corpus files azure-ai-ml itself cannot load, with why: none today. A file listed here must fail to load.
UNLOADABLE: dict[str, str] = {}
AMLOPS_TAGS = {"amlops.environment": "dev", "amlops.release": "f7d2fa5269d14ae4"}


class Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("unused", 2**31)


class Recorder:
    """Stands where an operation's begin_create_or_update is: keeps the entity, sends nothing."""

    def __init__(self) -> None:
        self.entities: list[Any] = []

    def __call__(self, entity: Any, **kwargs: Any) -> Recorder:
        self.entities.append(entity)
        return self

    def result(self) -> None:
        return None


def corpus(kind: str) -> list[Path]:
    if not CORPUS.is_dir():  # a missing corpus is a failure, never a skip: these tests are the proof
        pytest.fail(f"no corpus at {CORPUS}: CI clones shared/ beside the repository; elsewhere set AMLOPS_CORPUS")
    found = []
    for path in sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yml", ".yaml")):
        document, _ = read_yaml(path, path.name)
        if document is not None and isinstance(document.data, dict) and _kind(document.data) == kind:
            found.append(path)
    return found


def raw(path: Path) -> dict[str, Any]:
    document, problems = read_yaml(path, path.name)
    assert document is not None, problems
    return plain(document.data)


@pytest.fixture
def workspace(monkeypatch: pytest.MonkeyPatch) -> SdkWorkspace:
    client = MLClient(Token(), "00000000-0000-0000-0000-000000000000", "rg", "ws")
    monkeypatch.setattr(client.online_endpoints, "begin_create_or_update", Recorder())
    monkeypatch.setattr(client.online_deployments, "begin_create_or_update", Recorder())
    return SdkWorkspace("dev", client, metrics=None, local=False)  # type: ignore[arg-type]


def test_every_corpus_endpoint_reaches_azure_whole(workspace: SdkWorkspace):
    files = corpus("managedOnlineEndpoint")
    assert len(files) >= 6, f"expected the corpus's 6 managed online endpoint files, found {len(files)}"
    recorder: Recorder = workspace.client.online_endpoints.begin_create_or_update  # type: ignore[assignment]
    failed, differ = {}, {}
    for path in files:
        relative = path.relative_to(CORPUS).as_posix()
        tags = {**(raw(path).get("tags") or {}), **AMLOPS_TAGS}
        traffic, mirror = {"blue-0fa447a8": 100}, {"green-4b1c09e2": 10}
        try:
            sdk = load_online_endpoint(path, params_override=[{"tags": tags, "traffic": traffic, "mirror_traffic": mirror}])
        except Exception as exc:  # the SDK's own refusal: listed in UNLOADABLE
            failed[relative] = str(exc).splitlines()[0]
            continue
        workspace.put_endpoint(EndpointSpec(str(sdk.name), path, AMLOPS_TAGS, traffic, mirror))
        sent = recorder.entities[-1]._to_rest_online_endpoint(LOCATION).as_dict()
        expected = sdk._to_rest_online_endpoint(LOCATION).as_dict()
        if sent != expected:
            differ[relative] = (sent, expected)
    assert set(failed) == set(UNLOADABLE), failed
    assert not differ, "\n".join(f"{f}:\n  sent     {s}\n  expected {e}" for f, (s, e) in differ.items())


def test_every_corpus_deployment_reaches_azure_whole(workspace: SdkWorkspace):
    files = corpus("managedOnlineDeployment")
    assert len(files) >= 39, f"expected the corpus's 39 managed online deployment files, found {len(files)}"
    recorder: Recorder = workspace.client.online_deployments.begin_create_or_update  # type: ignore[assignment]
    failed, differ = {}, {}
    for path in files:
        relative = path.relative_to(CORPUS).as_posix()
        data = raw(path)
        endpoint = str(data.get("endpoint_name") or "corpus-endpoint")
        name = f"{str(data.get('name', 'blue'))[:23]}-0fa447a8"  # within Azure's 32, as amlops's names are
        spec = DeploymentSpec(endpoint, name, path, "azureml:churn:3", "Standard_DS4_v2", 3, AMLOPS_TAGS)
        override = {
            "endpoint_name": endpoint,
            "name": name,
            "model": spec.model,
            "instance_type": spec.instance_type,
            "instance_count": spec.instance_count,
            "tags": {**(data.get("tags") or {}), **AMLOPS_TAGS},
        }
        try:
            sdk = load_online_deployment(path, params_override=[override])
        except Exception as exc:
            failed[relative] = str(exc).splitlines()[0]
            continue
        workspace.begin_deployment(spec)
        sent = recorder.entities[-1]._to_rest_object(location=LOCATION).as_dict()
        expected = sdk._to_rest_object(location=LOCATION).as_dict()
        if sent != expected:
            differ[relative] = (sent, expected)
    assert set(failed) == set(UNLOADABLE), failed
    assert not differ, "\n".join(f"{f}:\n  sent     {s}\n  expected {e}" for f, (s, e) in differ.items())
