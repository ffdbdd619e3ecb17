"""The MLTable schema on `local`: azure-ai-ml fetches it before registering an mltable data asset and checks the
file with it. Against Azure it comes from Azure's schema host; here the control plane serves it, with no token
as there, so a registration neither waits on the internet (about 5 s of retries where there is none) nor goes
unchecked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from azure.ai.ml.exceptions import MlException

from amlops.manifests.repository import AssetKind
from amlops.workspace.interface import AssetSpec

pytestmark = pytest.mark.slow
SAMPLE = Path(__file__).resolve().parents[2]
SCHEMA_ROUTE = "/schemas/latest/MLTable.schema.json"


def _asset(tmp_path: Path, mltable: str | None = None) -> AssetSpec:
    folder = tmp_path / "repo" / "assets" / "data"
    shutil.copytree(SAMPLE / "assets" / "data" / "churn-baseline", folder / "churn-baseline")
    shutil.copy(SAMPLE / "assets" / "data" / "churn-baseline.yml", folder)
    if mltable is not None:
        (folder / "churn-baseline" / "MLTable").write_text(mltable)
    return AssetSpec(AssetKind.data, "churn-baseline", "1", folder / "churn-baseline.yml")


def test_an_mltable_asset_is_checked_with_the_schema_the_plane_serves(plane, tmp_path: Path):
    plane.admin.reset_requests()
    plane.workspace().register_asset(_asset(tmp_path))
    [fetch] = [r for r in plane.admin.requests()["log"] if r["path"] == SCHEMA_ROUTE]
    assert (fetch["method"], fetch["status"]) == ("GET", 200)
    assert plane.client().data.get("churn-baseline", "1").type == "mltable"


def test_an_mltable_the_schema_refuses_registers_nothing(plane, tmp_path: Path):
    with pytest.raises(MlException, match="type: .mltable. was expected"):
        plane.workspace().register_asset(_asset(tmp_path, "type: table\npaths:\n  - file: ./inputs.csv\n"))
    assert [d.name for d in plane.client().data.list()] == []
