"""The source workspace's word on a release, as promotion's evidence.

`amlops.state.status.live_release` rebuilds what each endpoint serves from the workspace's own tags;
this turns it into one :class:`LiveEvidence` per endpoint. Serverless endpoints serve the model
catalog's model, not bytes of ours: they count as live once the whole release is.
"""

from __future__ import annotations

from amlops.promotion.plan import LiveEvidence
from amlops.release.bundle import Release
from amlops.state.status import LiveRelease, live_release
from amlops.workspace.interface import Workspace


def evidence_from(live: LiveRelease, release: Release) -> dict[str, LiveEvidence]:
    evidence = {
        s.name: LiveEvidence(
            s.name,
            s.endpoint_release,
            s.healthy,
            s.since,
            f"provisioning {s.provisioning_state}; traffic "
            + (", ".join(f"{d.name}={d.traffic}%" for d in s.deployments if d.traffic) or "none"),
        )
        for s in live.endpoints
    }
    whole = live.release_id == release.id
    for name in release.serverless:
        declared = release.endpoint(name).id if whole else None
        evidence[name] = LiveEvidence(name, declared, live.healthy, live.since, "serverless, live with the whole release")
    return evidence


def workspace_evidence(workspace: Workspace, release: Release) -> dict[str, LiveEvidence]:
    """Read the environment's workspace (Azure, or the local control plane)."""
    return evidence_from(live_release(workspace.environment, workspace.observe()), release)
