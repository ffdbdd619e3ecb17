"""Slow provisioning, as a test asks for it: every write's, or a deployment's alone (so that a lock, which grows
with the endpoint writes, can be made to live shorter than a deployment takes)."""

from __future__ import annotations

from amlops.local.faults import Faults


def test_a_deployment_delay_slows_deployments_alone_and_overrides_the_general_one() -> None:
    faults = Faults()
    assert (faults.provisioning_delay(0.2), faults.provisioning_delay(0.2, deployment=True)) == (0.2, 0.2)
    faults.update({"provisioning_delay_s": 2})
    assert (faults.provisioning_delay(0.2), faults.provisioning_delay(0.2, deployment=True)) == (2.0, 2.0)
    faults.update({"deployment_delay_s": 10})
    assert (faults.provisioning_delay(0.2), faults.provisioning_delay(0.2, deployment=True)) == (2.0, 10.0)
    faults.update({"provisioning_delay_s": None})
    assert (faults.provisioning_delay(0.2), faults.provisioning_delay(0.2, deployment=True)) == (0.2, 10.0)
    faults.clear()
    assert faults.provisioning_delay(0.2, deployment=True) == 0.2
