"""Rollouts against the local control plane, through the real SDK: fresh apply, no-op re-apply,
blue/green bump, failed gate, kill and resume, parallel endpoints, locks, broken manifests, rollback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from plane_support import Plane, bump_churn, commit, make_repo

from amlops.manifests import ManifestError
from amlops.rollout.events import ignore
from amlops.rollout.rollback import rollback
from amlops.state import record
from amlops.state.record import Lock, RolloutRecord, Status
from amlops.state.status import endpoint_status, live_release

pytestmark = pytest.mark.slow


def azure_name(plane: Plane, root: Path, endpoint: str = "churn") -> str:
    return plane.session(root).release.endpoints[endpoint].deployments["main"].azure_name


def test_fresh_apply_serves_then_a_reapply_makes_no_writes(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path)
    result = plane.apply(root)
    assert result.ok, result.failures
    client = plane.client()
    live = plane.live("churn")
    new = azure_name(plane, root)
    assert live.traffic == {new: 100} and set(live.deployments) == {new}
    model = client.models.get("churn", version="1")
    assert model.tags[record.CONTENT_HASH] and model.tags[record.COMMIT] and model.tags[record.RELEASE]
    assert live.deployments[new].tags[record.MANIFEST] == "endpoints/churn/main.yml"
    session = plane.session(root)
    served = live_release("local", plane.workspace().observe())
    assert served.release_id == session.release.id and served.healthy and served.since is not None

    plane.admin.reset_requests()
    again = plane.session(root).plan()
    assert not again.changed
    assert plane.apply(root).ok
    counters = plane.admin.requests(log=0)
    assert counters["writes"] == 0, counters
    assert 0 < counters["reads"] <= 20  # proportional to the endpoints, not to history


def test_a_local_workspace_trusts_the_planes_ca_alone(plane: Plane, tmp_path: Path, monkeypatch):
    """Its SDK calls, autoscale reads, metrics and scoring requests all land on the plane, which only its own CA
    signs for: they verify against that CA, and so do not depend on (nor parse) the bundle REQUESTS_CA_BUNDLE names."""
    import certifi

    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    workspace, deployment = plane.workspace(), azure_name(plane, root)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # the world's CAs, not the plane's
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    assert workspace.observe(["churn"]).endpoints["churn"].traffic == {deployment: 100}
    assert [a.endpoint for a in workspace.autoscale_settings()] == []
    sample = (root / "endpoints" / "churn" / "sample-request.json").read_bytes()
    assert workspace.invoke("churn", sample, deployment).status == 200
    assert workspace.measure("churn", [deployment], 0).requests >= 1


def test_a_model_bump_rolls_out_blue_green_step_by_step(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    old = azure_name(plane, root)
    bump_churn(root)
    new = azure_name(plane, root)
    plan = plane.session(root).plan()
    assert [(m.name, m.version) for m in plan.models] == [("churn", "2")]
    plane.events.clear()
    assert plane.apply(root).ok
    said = plane.said("churn")
    steps = [m for m in said if m.startswith("step ")]
    assert steps == [
        f"step 1/3: mirror 20 % to {new}",
        f"step 2/3: weight {', '.join(f'{name} 50 %' for name in sorted((new, old)))}",  # by name
        f"step 3/3: weight {new} 100 %",
    ]
    assert any(m.startswith(f"smoke test of {new} passed") for m in said)
    assert sum(m.startswith("gate passed") for m in said) == 3
    status = endpoint_status(plane.live("churn"))
    assert [d.name for d in status.deployments] == [new] and status.deployments[0].traffic == 100
    assert status.rollout.status is Status.rolled_out and status.previous.release != status.endpoint_release
    assert [m.step for m in status.measured] == [0, 1, 2] and all(m.measurement.requests >= 5 for m in status.measured)


def test_a_failing_gate_rolls_back_with_the_old_deployment_serving(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    old = azure_name(plane, root)
    bump_churn(root)
    new = azure_name(plane, root)
    # every second request to the new deployment fails: its smoke test passes, its first gate does not
    plane.admin.add_faults(scoring=[{"endpoint": "churn", "deployment": new, "error_rate": 0.5, "status": 500}])
    result = plane.apply(root)
    assert not result.ok and result.rolled_back[0].endpoint == "churn"
    assert "gate failed at step 1" in result.rolled_back[0].reason and "error rate" in result.rolled_back[0].reason
    live = plane.live("churn")
    assert live.traffic == {old: 100} and live.mirror_traffic == {} and set(live.deployments) == {old}
    status = endpoint_status(live)
    assert status.rollout.status is Status.aborted and status.measured[0].passed is False
    assert status.lock is None and "error rate" in status.reason


def test_a_failed_deployment_is_removed_and_traffic_never_moves(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    old = azure_name(plane, root)
    bump_churn(root)
    plane.admin.add_faults(fail_next_deployments=1)
    result = plane.apply(root)
    assert not result.ok and "failed" in result.failures["churn"]
    live = plane.live("churn")
    assert live.traffic == {old: 100} and set(live.deployments) == {old}


def test_an_apply_killed_mid_rollout_resumes_and_converges(plane: Plane, tmp_path: Path, shell_env: dict[str, str]):
    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    bump_churn(root)
    new = azure_name(plane, root)
    env = shell_env | {"AMLOPS_LOCAL_STATE_DIR": str(plane.state_dir)}
    command = [sys.executable, "-m", "amlops", "apply", "--env", "local", "--auto-approve", "--repo", str(root)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        live = plane.live("churn")
        rollout = RolloutRecord.decode(live.tags.get(record.ROLLOUT))
        if rollout and rollout.status is Status.running and rollout.step >= 1:
            break
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.2)
    else:
        pytest.fail("the rollout never reached its second step")
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = plane.live("churn")
    assert all(killed.deployments[n].succeeded for n in killed.traffic)
    assert plane.session(root).plan().endpoints[0].resume is not None
    result = plane.apply(root)
    assert result.ok, result.failures
    assert any(m.startswith("resuming the rollout at step 2") for m in plane.said("churn"))
    live = plane.live("churn")
    assert live.traffic == {new: 100} and set(live.deployments) == {new}
    assert not plane.session(root).plan().changed


def test_two_endpoints_roll_out_in_parallel(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path, ("churn", "credit-risk"))
    plane.admin.add_faults(provisioning_delay_s=1)  # each write takes a second: a rollout lasts several
    result = plane.apply(root)
    assert result.ok, result.failures
    started = {
        e: min(t for t, x, m in plane.events if x == e and m.startswith("creating deployment")) for e in ("churn", "credit-risk")
    }
    finished = {e: max(t for t, x, m in plane.events if x == e and m.startswith("rolled out")) for e in ("churn", "credit-risk")}
    assert max(started.values()) < min(finished.values()), "the endpoints rolled out one after the other"


def test_an_endpoint_locked_by_another_apply_is_refused(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    bump_churn(root)
    client = plane.client()
    endpoint = client.online_endpoints.get("churn")
    endpoint.tags[record.LOCK] = Lock("ci-runner-7/4242/abcd", int(time.time()) + 600).encode()
    client.online_endpoints.begin_create_or_update(endpoint).result()
    result = plane.apply(root)
    assert "being rolled out by ci-runner-7/4242/abcd" in result.failures["churn"]
    assert len(plane.live("churn").deployments) == 1


def test_broken_manifests_stop_before_any_request(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path)
    text = (root / "environments" / "local.yaml").read_text().replace("min_requests: 5", "min_requests: 5\n    max_errors: 3")
    (root / "environments" / "local.yaml").write_text(text)
    commit(root, "broken")
    plane.admin.reset_requests()
    with pytest.raises(ManifestError) as raised:
        plane.session(root)
    assert "environments/local.yaml:" in str(raised.value) and "max_errors" in str(raised.value)
    counters = plane.admin.requests(log=0)
    assert counters["writes"] == 0 and counters["reads"] == 0


def test_rollback_returns_traffic_to_the_previous_release(plane: Plane, tmp_path: Path):
    root = make_repo(tmp_path)
    assert plane.apply(root).ok
    first = plane.session(root).release.endpoint("churn").id
    old = azure_name(plane, root)
    bump_churn(root)
    assert plane.apply(root).ok
    session = plane.session(root)
    result = rollback(session, "churn", ignore)
    assert result.ok, result.failures
    live = plane.live("churn")
    assert live.traffic == {old: 100} and set(live.deployments) == {old}
    status = endpoint_status(live)
    assert (
        status.endpoint_release == first and status.rollout.status is Status.rolled_back and "rolled back from" in status.reason
    )
    plan = plane.session(root).plan()
    assert plan.changed and "rolled back" in plan.endpoints[0].notes[0]


def test_the_cli_plans_with_detailed_exit_codes_and_applies_and_reapplies_reading_once(plane: Plane, tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from amlops.cli.main import app

    root = make_repo(tmp_path)
    monkeypatch.setenv("AMLOPS_LOCAL_STATE_DIR", str(plane.state_dir))
    monkeypatch.chdir(root.parent)  # --repo relative to where the user stands, as in `amlops apply --repo .`
    runner = CliRunner()
    planned = runner.invoke(app, ["plan", "--env", "local", "--repo", root.name, "--format", "markdown", "--detailed-exitcode"])
    assert planned.exit_code == 2, planned.output
    assert "| model churn:1 | register |" in planned.stdout
    applied = runner.invoke(app, ["apply", "--env", "local", "--repo", root.name, "--auto-approve"])
    assert applied.exit_code == 0, applied.output
    assert "test prediction" in applied.stdout and "/churn/score" in applied.stdout
    again = runner.invoke(app, ["plan", "--env", "local", "--repo", str(root), "--format", "json", "--detailed-exitcode"])
    assert again.exit_code == 0 and '"changed": false' in again.stdout
    plane.admin.reset_requests()
    reapplied = runner.invoke(app, ["apply", "--env", "local", "--repo", root.name, "--auto-approve"])
    assert reapplied.exit_code == 0 and "test prediction" in reapplied.stdout, reapplied.output
    listed = {r["route"]: r["count"] for r in plane.admin.requests(kind="arm")["routes"]}
    assert listed["GET {ws}/onlineEndpoints"] == 1, listed  # the plan's read is what the endpoints are printed from
    status = runner.invoke(app, ["status", "--env", "local", "--repo", str(root)])
    assert status.exit_code == 0 and "healthy" in status.stdout
