"""Cross-checks of `autoscale` blocks that a single field cannot see: the deployment's own instance count."""

from __future__ import annotations

from collections.abc import Iterator

from amlops.manifests.environment import EndpointChoice
from amlops.manifests.errors import Problem
from amlops.manifests.repository import EnvironmentFile, Repository


def autoscale_instances(repo: Repository, environments: list[EnvironmentFile]) -> Iterator[Problem]:
    """A deployment's instance_count (the environment's, else its file's) lies within its autoscale range:
    Azure ML creates it with that count, and Azure Monitor would at once scale it back inside the range."""
    for env in environments:
        for endpoint, choice in env.environment.endpoints.items():
            if not isinstance(choice, EndpointChoice):
                continue
            folder = repo.endpoints.get(endpoint)
            for name, chosen in choice.deployments.items():
                scale = chosen.autoscale
                if scale is None:
                    continue
                file = folder.deployments.get(name) if folder else None
                count = chosen.instance_count or (file.deployment.instance_count if file else None) or 1
                if not scale.min_instances <= count <= scale.max_instances:
                    where = ("endpoints", endpoint, "deployments", name)
                    field = (*where, "instance_count") if chosen.instance_count else (*where, "autoscale")
                    yield env.document.problem(
                        field,
                        f"instance_count {count} is outside autoscale's min_instances {scale.min_instances} "
                        f"to max_instances {scale.max_instances}",
                    )
