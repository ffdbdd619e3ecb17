"""The in-memory workspace's autoscale settings, with the rules Azure Monitor keeps (autoscale_API.json 2022-10-01
and learn.microsoft.com/azure/azure-monitor/autoscale/autoscale-understanding-settings):
- the target resource exists (an online deployment of this workspace);
- one autoscale setting per target resource ("a resource can have only one autoscale setting");
- at most 20 profiles, 10 rules each, and in each capacity minimum <= default <= maximum;
- at most 15 tags (AutoscaleSettingResource.tags).
"""

from __future__ import annotations

from typing import Any

from amlops.workspace.interface import AutoscaleSpec
from amlops.workspace.memory_training import Refused


class MemoryAutoscale:
    """Mixed into MemoryWorkspace, which has `endpoints` and records writes through `_wrote`."""

    endpoints: dict[str, Any]

    def __init__(self) -> None:
        self.autoscale: dict[str, AutoscaleSpec] = {}

    def _wrote(self, what: str) -> None:  # MemoryWorkspace's
        raise NotImplementedError

    def autoscale_settings(self) -> list[AutoscaleSpec]:
        return [self.autoscale[name] for name in sorted(self.autoscale)]

    def put_autoscale(self, spec: AutoscaleSpec) -> None:
        endpoint = self.endpoints.get(spec.endpoint)
        if endpoint is None or spec.deployment not in endpoint.deployments:
            raise Refused(f"autoscale {spec.name}: target deployment {spec.endpoint}/{spec.deployment} not found")
        other = [s.name for s in self.autoscale.values() if (s.endpoint, s.deployment) == (spec.endpoint, spec.deployment)]
        if other and other != [spec.name]:
            raise Refused(f"deployment {spec.endpoint}/{spec.deployment} already has autoscale setting {other[0]}")
        if not 1 <= len(spec.profiles) <= 20 or len(spec.tags) > 15:
            raise Refused(f"autoscale {spec.name}: {len(spec.profiles)} profiles, {len(spec.tags)} tags (Azure: 1-20, 15)")
        for p in spec.profiles:
            if len(p.rules) > 10 or not p.minimum <= p.default <= p.maximum:
                raise Refused(f"autoscale {spec.name}: profile {p.name} needs minimum <= default <= maximum and 10 rules at most")
        self.autoscale[spec.name] = spec
        self._wrote(f"put autoscale {spec.name}")

    def delete_autoscale(self, name: str) -> None:
        if name not in self.autoscale:
            raise Refused(f"autoscale setting {name} not found")
        del self.autoscale[name]
        self._wrote(f"delete autoscale {name}")
