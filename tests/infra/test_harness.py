"""The mock harness itself: it must not be able to pass silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_support import ROOT, stack
from pulumi.runtime import MockCallArgs

from amlops.infraplan.inventory import ProgramError, RecordingMocks, UnmockedCall, evaluate


def test_unknown_invokes_raise() -> None:
    with pytest.raises(UnmockedCall, match="azure-native:authorization:getClientConfig"):
        RecordingMocks().call(MockCallArgs("azure-native:authorization:getClientConfig", {}, ""))


def _program(root: Path, body: str) -> Path:
    (root / "infra").mkdir(parents=True)
    (root / "infra" / "__main__.py").write_text(body)
    return root


def test_a_program_that_invokes_fails(tmp_path: Path) -> None:
    root = _program(
        tmp_path,
        "import pulumi\npulumi.export('x', pulumi.runtime.invoke('azure-native:authorization:getClientConfig', {}).value)\n",
    )
    with pytest.raises((UnmockedCall, ProgramError), match="getClientConfig"):
        evaluate(root, "dev")


def test_errors_inside_apply_are_not_lost(tmp_path: Path) -> None:
    body = "import pulumi\npulumi.export('x', pulumi.Output.from_input(1).apply(lambda _: 1 / 0))\n"
    with pytest.raises(ProgramError, match="division by zero"):
        evaluate(_program(tmp_path, body), "dev")


def test_evaluations_are_independent_and_repeatable() -> None:
    first = evaluate(ROOT, "prod")
    evaluate(ROOT, "dev")
    again = evaluate(ROOT, "prod")
    assert [(r.type, r.name, r.inputs) for r in first.resources] == [(r.type, r.name, r.inputs) for r in again.resources]
    assert first.outputs == again.outputs
    assert all(r.urn.startswith("urn:pulumi:prod::amlops::") for r in again.resources)


def test_stack_config_reaches_the_program(tmp_path: Path) -> None:
    root = _program(tmp_path, "import pulumi\npulumi.export('generation', pulumi.Config().get_int('generation'))\n")
    (root / "Pulumi.dev.yaml").write_text('config:\n  amlops:generation: "7"\n  amlops:password:\n    secure: AAAA\n')
    assert evaluate(root, "dev").outputs == {"generation": 7}


def test_names_are_within_azure_limits() -> None:
    for env in ("dev", "staging", "prod"):
        inv = stack(env)
        storage = inv.one("azure-native:storage:StorageAccount").azure_name
        vault = inv.one("azure-native:keyvault:Vault").azure_name
        assert storage.isalnum() and storage.islower() and 3 <= len(storage) <= 24
        assert 3 <= len(vault) <= 24 and vault[0].isalpha() and "--" not in vault
        assert all(2 <= len(c.azure_name) <= 16 for c in inv.of_type("azure-native:machinelearningservices:Compute"))
