"""Everything a command needs for one environment: validated manifests, its release, its workspace.

Manifests are validated before the workspace is even opened, so bad input stops with every problem
named (file:line:column: field) and nothing written, nor read, in Azure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from amlops.manifests import ManifestError, Repository, validate_repository
from amlops.release import Release, build_release
from amlops.rollout.executor import Context, Events, Settings
from amlops.rollout.lineage import Lineage, git_commit
from amlops.rollout.metrics import AzureMonitorMetrics, LocalMetrics, MetricsSource
from amlops.rollout.plan import Plan, plan
from amlops.workspace.client import Workspace, open_workspace
from amlops.workspace.observe import observe


@dataclass(frozen=True)
class Session:
    repo: Repository
    release: Release
    workspace: Workspace

    def plan(self) -> Plan:
        return plan(self.release, observe(self.workspace.client, self.release))

    def context(self, events: Events, settings: Settings | None = None, lineage: Lineage | None = None) -> Context:
        base = settings or Settings()
        if self.workspace.local and not base.synthetic_load:
            base = Settings(**{**base.__dict__, "synthetic_load": True})
        lineage = lineage or Lineage(self.release.environment, self.release.id, git_commit(self.repo.root))
        return Context(self.workspace.client, self.repo, self.release, lineage, metrics_for(self.workspace), base, events)


def load_release(root: Path, environment: str) -> tuple[Repository, Release]:
    """The validated repository and `environment`'s release; ManifestError names every problem."""
    repo, problems = validate_repository(root, environment)
    if problems:
        raise ManifestError(problems)
    return repo, build_release(repo, environment)


def open_session(root: Path, environment: str, state_dir: Path | None = None) -> Session:
    repo, release = load_release(root, environment)
    return Session(repo, release, open_workspace(repo.environments[environment].environment, state_dir))


def metrics_for(workspace: Workspace) -> MetricsSource:
    """The control plane's metrics route locally; Azure Monitor for the endpoint in Azure."""
    if workspace.local:
        assert workspace.admin_url is not None
        c = workspace.client
        scope = {"subscription": c.subscription_id, "resource_group": c.resource_group_name, "workspace": c.workspace_name}
        return LocalMetrics(workspace.admin_url, scope, workspace.ca_bundle, workspace.credential)
    return AzureMonitorMetrics(workspace.credential, workspace.resource_id + "/onlineEndpoints/{endpoint}")
