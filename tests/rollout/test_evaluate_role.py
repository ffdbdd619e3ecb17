"""The evaluate identity's custom role holds exactly what `amlops evaluate` and `amlops plan` call (slow: a control plane).

The local control plane logs every request by route. A pull request's two steps that sign in as the evaluate
identity run against it, with the comparison on a declared cluster as the sample environments run it; each ARM
route they call must be the route of one row of `infra/evaluate-role.csv` (the action Azure checks for it), and
each row must be needed by some route: no missing action, no unused one. Blob routes are storage data actions
(Storage Blob Data Reader); registry discovery is Reader on the shared registry (`infra/role-assignments.csv`).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from plane_support import SAMPLE, Plane, bump_churn
from test_local_evaluation import EVALUATED, serving_churn_1
from typer.testing import CliRunner

from amlops.cli.main import app
from amlops.rollout.specs import model_spec
from amlops.state.record import Lineage

pytestmark = pytest.mark.slow

TABLE = list(csv.DictReader((SAMPLE / "infra" / "evaluate-role.csv").open()))
#: A route may need several actions: Azure checks a job's submission against the documented set for it.
ACTIONS_OF: dict[str, set[str]] = {}
for _row in TABLE:
    for _route in _row["route"].split(";"):
        ACTIONS_OF.setdefault(_route, set()).add(_row["action"])
#: Granted by the evaluate identity's Reader role on the shared registry, not by its custom role.
REGISTRY_ROUTES = {"GET /discovery"}
ON_A_CLUSTER = EVALUATED.replace("compute: serverless", "compute: cpu") + (
    "clusters:\n  - name: cpu\n    vm_size: Standard_DS3_v2\n    max_nodes: 2\n"
)


def test_evaluate_and_plan_call_exactly_the_routes_of_the_evaluate_roles_actions(plane: Plane, tmp_path: Path) -> None:
    root = serving_churn_1(plane, tmp_path, ON_A_CLUSTER)
    bump_churn(root, "2", coefficients=[-4.0, -0.6, 2.6])
    session = plane.session(root)
    (pin,) = session.plan().models  # registered ahead, as a retrain candidate is: evaluate then runs its comparison
    session.workspace.register_model(model_spec(session.repo, pin, Lineage("local", session.release.id, None)))
    plane.admin.reset_requests()

    cli, env = CliRunner(), {"AMLOPS_LOCAL_STATE_DIR": str(plane.state_dir)}
    evaluated = cli.invoke(app, ["evaluate", "--env", "local", "--repo", str(root)], env=env)
    planned = cli.invoke(app, ["plan", "--env", "local", "--repo", str(root), "--format", "markdown"], env=env)

    assert evaluated.exit_code == 1 and "on cpu-" in evaluated.output, evaluated.output  # the run went to the cluster
    assert planned.exit_code == 0 and "recorded so far" in planned.stdout, planned.output
    routes = {r["route"] for r in plane.admin.requests(log=0)["routes"] if r["kind"] == "arm"}
    unmapped = routes - set(ACTIONS_OF) - REGISTRY_ROUTES
    assert unmapped == set(), f"routes no action of infra/evaluate-role.csv grants: {sorted(unmapped)}"
    needed = {action for r in routes for action in ACTIONS_OF.get(r, ())}
    assert {row["action"] for row in TABLE} - needed == set(), "actions neither step needs"
