"""The plan is pure: the sample release compared with live states built by hand."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sample_support import SAMPLE_FOLDERS

from amlops.manifests import validate_repository
from amlops.release import build_release
from amlops.rollout.plan import Change, plan
from amlops.rollout.render import markdown, plan_json
from amlops.state import record
from amlops.state.live import LiveDeployment, LiveEndpoint, LiveModel, LiveServerless, LiveState
from amlops.state.record import RolloutRecord

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def release():
    repo, problems = validate_repository(REPO, "dev")
    assert not problems
    return build_release(repo, "dev")


def converged(release) -> LiveState:
    """The live state a successful apply of `release` leaves behind."""
    endpoints = {}
    for name, e in release.endpoints.items():
        deployments = {
            d.azure_name: LiveDeployment(
                d.azure_name, f"azureml:{d.model.reference}", d.instance_type, d.instance_count, "Succeeded"
            )
            for d in e.deployments.values()
        }
        tags = {record.ENVIRONMENT: "dev", record.ENDPOINT_RELEASE: release.endpoint(name).id}
        tags |= {record.ENDPOINT_SETTINGS: e.settings_hash} if e.settings_hash else {}
        properties = {str(k): str(v) for k, v in (e.settings.get("properties") or {}).items()}
        endpoints[name] = LiveEndpoint(
            name, "Succeeded", e.auth_mode, e.azure_traffic(), {}, tags, deployments, properties=properties
        )
    models = {
        (d.model.name, d.model.version): LiveModel(d.model.name, d.model.version, {record.CONTENT_HASH: d.model.content_hash})
        for e in release.endpoints.values()
        for d in e.deployments.values()
    }
    serverless = {n: LiveServerless(n, s.model_id, {record.ENVIRONMENT: "dev"}) for n, s in release.serverless.items()}
    return LiveState(endpoints, models, serverless)


def test_an_empty_workspace_gets_everything(release):
    result = plan(release, LiveState())
    assert {(p.name, p.version) for p in result.models} == {("churn", "1"), ("credit-risk", "1"), ("ticket-triage", "1")}
    assert [e.name for e in result.changed_endpoints] == ["churn", "churn-gpu", "credit-risk", "ticket-triage"]
    assert all(e.create and e.rollout for e in result.endpoints)
    assert [(s.change, s.name) for s in result.serverless] == [(Change.create, "phi3-chat")]
    assert result.changed and not result.conflicts


def test_a_converged_workspace_has_nothing_to_do(release):
    result = plan(release, converged(release))
    assert not result.changed, plan_json(result)
    assert "No changes" in markdown(result)


def test_a_changed_deployment_is_added_beside_the_live_one(release):
    live = converged(release)
    churn = live.endpoints["churn"]
    old = LiveDeployment("main-0badc0de", "azureml:churn:0", "Standard_DS3_v2", 1, "Succeeded")
    live.endpoints["churn"] = dataclasses.replace(
        churn, deployments={old.name: old}, traffic={old.name: 100}, tags={**churn.tags, record.ENDPOINT_RELEASE: "0" * 16}
    )
    e = next(e for e in plan(release, live).endpoints if e.name == "churn")
    new = release.endpoints["churn"].deployments["main"].azure_name
    assert [(c.change, c.name) for c in e.deployments] == [(Change.add, new), (Change.retire, old.name)]
    assert e.rollout and e.new == (new,) and e.retired == (old.name,)
    assert e.traffic == ({old.name: 100}, {new: 100})


def test_instance_count_is_scaled_in_place(release):
    live = converged(release)
    credit = live.endpoints["credit-risk"]
    name, d = next(iter(credit.deployments.items()))
    live.endpoints["credit-risk"] = dataclasses.replace(credit, deployments={name: dataclasses.replace(d, instance_count=3)})
    e = next(e for e in plan(release, live).endpoints if e.name == "credit-risk")
    assert [(c.change, c.detail) for c in e.deployments] == [(Change.scale, "instances 3 -> 1")]
    assert not e.rollout


def test_failed_deployments_are_recreated_and_running_ones_awaited(release):
    live = converged(release)
    for name, state, change in (("churn", "Failed", Change.recreate), ("credit-risk", "Creating", Change.add)):
        ep = live.endpoints[name]
        d = next(iter(ep.deployments.values()))
        live.endpoints[name] = dataclasses.replace(ep, deployments={d.name: dataclasses.replace(d, provisioning_state=state)})
        e = next(e for e in plan(release, live).endpoints if e.name == name)
        assert [c.change for c in e.deployments] == [change]


def test_different_content_under_a_registered_version_is_refused(release):
    live = converged(release)
    live.models[("churn", "1")] = LiveModel("churn", "1", {record.CONTENT_HASH: "f" * 64})
    result = plan(release, live)
    assert len(result.conflicts) == 1 and "churn:1" in result.conflicts[0] and "immutable" in result.conflicts[0]
    live.models[("churn", "1")] = LiveModel("churn", "1", {})
    assert "outside amlops" in plan(release, live).conflicts[0]


def test_endpoints_managed_here_but_gone_from_the_manifests_are_deleted(release):
    live = converged(release)
    gone = LiveEndpoint("old-one", "Succeeded", "key", {}, {}, {record.ENVIRONMENT: "dev"}, {})
    foreign = LiveEndpoint("not-ours", "Succeeded", "key", {}, {}, {}, {})
    live.endpoints.update({"old-one": gone, "not-ours": foreign})
    live.serverless["old-chat"] = LiveServerless("old-chat", "azureml://registries/azureml/models/x", {record.ENVIRONMENT: "dev"})
    result = plan(release, live)
    assert result.retire_endpoints == ("old-one",)
    assert [(s.change, s.name) for s in result.serverless] == [(Change.delete, "old-chat")]


def test_an_unfinished_rollout_to_the_same_release_is_resumed(release):
    live = converged(release)
    ep = live.endpoints["churn"]
    desired_id = release.endpoint("churn").id
    unfinished = RolloutRecord(desired_id, "0" * 16, {"main-0badc0de": 100}, 1, 0)
    live.endpoints["churn"] = dataclasses.replace(
        ep, tags={**ep.tags, record.ENDPOINT_RELEASE: "0" * 16, record.ROLLOUT: unfinished.encode()}
    )
    e = next(e for e in plan(release, live).endpoints if e.name == "churn")
    assert e.resume == unfinished and e.changed


def test_plan_json_and_markdown_name_every_change(release):
    result = plan(release, LiveState())
    data = json.loads(json.dumps(plan_json(result)))
    assert data["release"]["id"] == release.id
    text = markdown(result)
    assert "| model churn:1 | register |" in text and "serverless phi3-chat" in text


def edited_release(tmp_path: Path, old: str, new: str):
    """The dev release with endpoints/churn/endpoint.yml edited."""
    import shutil

    for folder in SAMPLE_FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder)
    path = tmp_path / "endpoints/churn/endpoint.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    repo, problems = validate_repository(tmp_path, "dev")
    assert not problems, problems
    return build_release(repo, "dev")


@pytest.mark.parametrize(
    "old, new, says",
    [
        ("auth_mode: key", "auth_mode: key\npublic_network_access: disabled", "public_network_access"),
        ("auth_mode: key", "auth_mode: key\nidentity:\n  type: system_assigned", "identity"),
        ("auth_mode: key", "auth_mode: key\nproperties:\n  team: churn", "properties"),
        ("description: Probability", "description: The probability", "description"),
        ("auth_mode: key", "auth_mode: aml_token", "auth_mode key -> aml_token"),
    ],
    ids=["public-network-access", "identity", "properties", "description", "auth-mode"],
)
def test_a_change_of_the_endpoint_itself_is_a_change(release, tmp_path: Path, old: str, new: str, says: str):
    changed = edited_release(tmp_path, old, new)
    result = plan(changed, converged(release))
    churn = next(e for e in result.endpoints if e.name == "churn")
    assert [e.name for e in result.changed_endpoints] == ["churn"], plan_json(result)
    assert churn.live_endpoint_release != churn.endpoint_release and not churn.deployments
    assert any(says in note and "updated in place" in note for note in churn.notes), churn.notes
    assert not result.conflicts


def test_an_endpoint_property_once_set_is_never_altered(tmp_path: Path):
    first = edited_release(tmp_path / "a", "auth_mode: key", "auth_mode: key\nproperties:\n  team: churn")
    altered = edited_release(tmp_path / "b", "auth_mode: key", "auth_mode: key\nproperties:\n  team: retention")
    result = plan(altered, converged(first))
    assert result.conflicts == (
        "endpoint churn: properties.team is 'churn' in Azure but 'retention' in endpoint.yml; Azure ML never alters "
        "an endpoint property once set: add a new key, or create a new endpoint",
    )


@pytest.mark.parametrize(
    "line", ["model_mount_path: /var/models", "properties:\n  owner: churn-team", "description: churn, scored"]
)
def test_a_change_to_any_deployment_setting_is_a_new_deployment(release, tmp_path: Path, line: str):
    import shutil

    for folder in SAMPLE_FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder)
    path = tmp_path / "endpoints/churn/main.yml"
    path.write_text(path.read_text() + line + "\n")
    repo, problems = validate_repository(tmp_path, "dev")
    assert not problems, problems
    changed = build_release(repo, "dev")
    result = plan(changed, converged(release))
    churn = next(e for e in result.endpoints if e.name == "churn")
    assert [c.change for c in churn.deployments] == [Change.add, Change.retire], plan_json(result)
