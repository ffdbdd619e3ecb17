"""Jobs on the local control plane, driven by the unmodified azure-ai-ml SDK: a pipeline passing a folder
between two steps, waited for and downloaded; a failing step; cancellation; a restart during a run;
cluster node limits; outputs registered as assets; registration idempotence.

Jobs here use environments without a conda file (an image only): the control plane runs those on its own
Python, so no environment is built and the tests stay fast (see environments.py for the policy).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import requests
from azure.ai.ml import Input, Output, command, dsl
from azure.ai.ml.entities import AmlCompute, Data, Environment
from azure.ai.ml.exceptions import JobException
from azure.core.exceptions import HttpResponseError

from amlops.processes import alive

pytestmark = pytest.mark.slow

IMAGE_ONLY = Environment(image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest")


@pytest.fixture(scope="module")
def ml(local):
    client = local.client()
    client.compute.begin_create_or_update(AmlCompute(name="cpu", size="STANDARD_DS3_V2", max_instances=2)).result()
    client.compute.begin_create_or_update(AmlCompute(name="one-node", size="STANDARD_DS3_V2", max_instances=1)).result()
    return client


@pytest.fixture(scope="module")
def code(local) -> Path:
    """Step scripts: prepare writes a folder of rows; train reads it and writes a model folder; stamp
    records when it ran; fail prints and exits 1."""
    path = local.assets / "job-code"
    path.mkdir(parents=True, exist_ok=True)
    (path / "prepare.py").write_text(
        "import json, os, sys\n"
        "out, n = sys.argv[1], int(sys.argv[2])\n"
        "os.makedirs(out, exist_ok=True)\n"
        "for i in range(n):\n"
        "    open(os.path.join(out, f'part-{i}.json'), 'w').write(json.dumps({'x': i}))\n"
    )
    (path / "train.py").write_text(
        "import json, os, sys\n"
        "data, out = sys.argv[1], sys.argv[2]\n"
        "rows = [json.load(open(os.path.join(data, f))) for f in sorted(os.listdir(data))]\n"
        "os.makedirs(out, exist_ok=True)\n"
        "json.dump({'rows': len(rows), 'total': sum(r['x'] for r in rows)}, open(os.path.join(out, 'model.json'), 'w'))\n"
        "print('trained on', len(rows), 'rows')\n"
    )
    (path / "stamp.py").write_text(
        "import json, os, sys, time\n"
        "start = time.time(); time.sleep(float(sys.argv[2])); os.makedirs(sys.argv[1], exist_ok=True)\n"
        "json.dump({'start': start, 'end': time.time()}, open(os.path.join(sys.argv[1], 't.json'), 'w'))\n"
    )
    (path / "fail.py").write_text("print('reading the data'); print('boom: column churn is missing'); raise SystemExit(1)\n")
    return path


def _step(code: Path, name: str, cmd: str, inputs=None, outputs=None):
    return command(name=name, code=str(code), command=cmd, environment=IMAGE_ONLY, inputs=inputs or {}, outputs=outputs or {})


def _wait(ml, name: str, until=("Completed", "Failed", "Canceled"), timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ml.jobs.get(name)
        if job.status in until:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {name} still {job.status} after {timeout}s")


def test_a_pipeline_passes_a_folder_between_two_steps_and_is_downloaded(local, ml, code, tmp_path) -> None:
    prepare = _step(
        code, "prepare", "python prepare.py ${{outputs.rows}} ${{inputs.n}}", {"n": 3}, {"rows": Output(type="uri_folder")}
    )
    train = _step(
        code,
        "train",
        "python train.py ${{inputs.data}} ${{outputs.model}}",
        {"data": Input(type="uri_folder")},
        {"model": Output(type="uri_folder")},
    )

    @dsl.pipeline(default_compute="cpu")
    def churn(n=3):
        rows = prepare(n=n)
        return {"model": train(data=rows.outputs.rows).outputs.model}

    job = ml.jobs.create_or_update(churn(n=4))
    assert job.status == "NotStarted"
    ml.jobs.stream(job.name)  # returns when the job is over, raises if it failed
    assert ml.jobs.get(job.name).status == "Completed"
    steps = {c.display_name: c.status for c in ml.jobs.list(parent_job_name=job.name)}
    assert steps == {"rows": "Completed", "train": "Completed"}  # steps are named after their node

    ml.jobs.download(job.name, download_path=tmp_path, all=True)
    assert json.loads((tmp_path / "named-outputs" / "model" / "model.json").read_text()) == {"rows": 4, "total": 6}
    log = (tmp_path / "artifacts" / "logs" / "azureml" / "executionlogs.txt").read_text()
    prepare_log = [line.rsplit(": ", 1)[-1] for line in log.splitlines() if " rows (" in line]
    assert prepare_log == ["Starting", "Preparing", "Queued", "Running", "Finalizing", "Completed"]
    assert job.name in {j.name for j in ml.jobs.list()}


def test_a_failing_step_fails_the_pipeline_with_its_log(ml, code) -> None:
    fail = _step(code, "fail", "python fail.py", outputs={"out": Output(type="uri_folder")})
    after = _step(
        code,
        "after",
        "python train.py ${{inputs.data}} ${{outputs.model}}",
        {"data": Input(type="uri_folder")},
        {"model": Output(type="uri_folder")},
    )

    @dsl.pipeline(default_compute="cpu")
    def broken():
        after(data=fail().outputs.out)

    job = ml.jobs.create_or_update(broken())
    with pytest.raises(JobException) as err:
        ml.jobs.stream(job.name)
    assert "Pipeline step 'fail'" in str(err.value) and "boom: column churn is missing" in str(err.value)
    assert ml.jobs.get(job.name).status == "Failed"
    steps = {c.display_name: c.status for c in ml.jobs.list(parent_job_name=job.name)}
    assert steps == {"fail": "Failed", "after": "Canceled"}


def test_cancel_stops_the_job_and_its_process_tree(local, ml) -> None:
    job = ml.jobs.create_or_update(
        command(command="sleep 300 & sleep 300; wait", environment=IMAGE_ONLY, compute="cpu", display_name="sleeper")
    )
    _wait(ml, job.name, until=("Running",))
    assert _job_processes(local)
    ml.jobs.begin_cancel(job.name).result()
    assert ml.jobs.get(job.name).status == "Canceled"
    assert _job_processes(local) == []


def test_a_crash_of_the_control_plane_during_a_run_fails_the_job_with_the_reason(local, ml) -> None:
    # The job ignores SIGTERM, so the signal it gets when its parent dies (PR_SET_PDEATHSIG) cannot end
    # it: the next stop must find it by its marker and kill its group.
    job = ml.jobs.create_or_update(command(command="trap '' TERM; sleep 300", environment=IMAGE_ONLY, compute="cpu"))
    _wait(ml, job.name, until=("Running",))
    os.kill(local.conn.pid, signal.SIGKILL)  # a crash: the control plane records nothing on its way out
    while alive(local.conn.pid):
        time.sleep(0.05)
    local.restart()
    ml = local.client()
    assert ml.jobs.get(job.name).status == "Failed"
    with pytest.raises(JobException, match="control plane stopped while this job was Running"):
        ml.jobs.stream(job.name)
    assert _job_processes(local) == []


def test_a_cluster_runs_at_most_max_nodes_steps_at_once(ml, code, tmp_path) -> None:
    def spans(compute: str) -> list[tuple[float, float]]:
        stamp = _step(code, "stamp", "python stamp.py ${{outputs.t}} 1.5", outputs={"t": Output(type="uri_folder")})

        @dsl.pipeline(default_compute=compute)
        def two():
            stamp()
            stamp()

        job = ml.jobs.create_or_update(two())
        assert _wait(ml, job.name).status == "Completed"
        result = []
        for child in ml.jobs.list(parent_job_name=job.name):
            ml.jobs.download(child.name, download_path=tmp_path / child.name, output_name="t")
            t = json.loads((tmp_path / child.name / "named-outputs" / "t" / "t.json").read_text())
            result.append((t["start"], t["end"]))
        return sorted(result)

    (a, b) = spans("one-node")
    assert b[0] >= a[1], "one node: the second step starts after the first ends"
    (a, b) = spans("cpu")
    assert b[0] < a[1], "two nodes: independent steps run in parallel"


def test_unknown_computes_and_expressions_are_refused_at_submit(local, ml) -> None:
    with pytest.raises(HttpResponseError, match="Compute 'gpu-nowhere' does not exist"):
        ml.jobs.create_or_update(command(command="echo hi", environment=IMAGE_ONLY, compute="gpu-nowhere"))
    # The SDK checks expressions too; the control plane refuses what slips past it, as Azure does.
    ws = ml.workspaces.get(ml.workspace_name).id
    body = {"properties": {"jobType": "Command", "command": "echo ${{inputs.missing}}", "computeId": f"{ws}/computes/cpu"}}
    resp = requests.put(
        f"{local.conn.resource_manager}{ws.lstrip('/')}/jobs/bad-expression",
        params={"api-version": "2024-04-01"},
        headers={"Authorization": f"Bearer {local.conn.token}"},
        json=body,
        verify=local.conn.ca_bundle,
        timeout=30,
    )
    assert resp.status_code == 400 and "${{inputs.missing}} names no inputs" in resp.json()["error"]["message"]


def test_outputs_with_a_name_are_registered_as_assets(ml, code) -> None:
    job = ml.jobs.create_or_update(
        _step(
            code,
            "register",
            "python prepare.py ${{outputs.rows}} 2 && python train.py ${{outputs.rows}} ${{outputs.model}}",
            outputs={
                "rows": Output(type="uri_folder", name="job-rows", version="1"),
                "model": Output(type="custom_model", name="job-model", version="3"),
            },
        )
    )
    ml.jobs.stream(job.name)
    assert ml.data.get("job-rows", "1").path.endswith(f"/azureml/{job.name}/rows/")
    model = ml.models.get("job-model", "3")
    assert model.type == "custom_model" and model.job_name == job.name


def test_registering_the_same_content_again_makes_no_new_version(local, ml, code) -> None:
    from azure.ai.ml import load_component

    spec = local.assets / "component.yml"
    spec.write_text(
        f"name: churn_prepare\nversion: '1'\ntype: command\ncode: {code}\n"
        "environment:\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest\n"
        "inputs:\n  n: {type: integer}\noutputs:\n  rows: {type: uri_folder}\n"
        "command: python prepare.py ${{outputs.rows}} ${{inputs.n}}\n"
    )
    for _ in range(2):
        ml.components.create_or_update(load_component(spec))
    assert [c.version for c in ml.components.list("churn_prepare")] == ["1"]
    spec.write_text(spec.read_text().replace("${{inputs.n}}", "${{inputs.n}} --changed"))
    with pytest.raises(HttpResponseError):
        ml.components.create_or_update(load_component(spec))

    env = Environment(name="churn-train", version="1", image="python:3.11", conda_file={"dependencies": [{"pip": ["requests"]}]})
    for _ in range(2):
        ml.environments.create_or_update(env)
    assert [e.version for e in ml.environments.list("churn-train")] == ["1"]

    folder = local.assets / "rows"
    folder.mkdir(exist_ok=True)
    (folder / "part-0.json").write_text('{"x": 1}')
    for _ in range(2):
        ml.data.create_or_update(Data(name="churn-rows", version="1", type="uri_folder", path=str(folder)))
    assert [d.version for d in ml.data.list("churn-rows")] == ["1"]


def _job_processes(local) -> list[int]:
    """Live processes of this control plane other than the server: here only jobs' (no deployment runs)."""
    return local.serving_processes()
