"""Log Analytics, Application Insights, and the diagnostic settings that feed them.

Application Insights is workspace-based so that the workspace, its endpoints and every resource's
platform logs land in one Log Analytics workspace with one retention.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights


@dataclass
class MonitoringArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    log_analytics_name: str
    app_insights_name: str
    retention_days: int = 30
    tags: dict[str, str] = field(default_factory=dict)


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("amlops:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.log_analytics = operationalinsights.Workspace(
            args.log_analytics_name,
            workspace_name=args.log_analytics_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.retention_days,
            tags=args.tags,
            opts=child,
        )
        self.app_insights = applicationinsights.Component(
            args.app_insights_name,
            resource_name_=args.app_insights_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=self.log_analytics.id,
            tags=args.tags,
            opts=child,
        )
        self.register_outputs({"log_analytics_id": self.log_analytics.id})

    def send(
        self,
        target: pulumi.CustomResource,
        *,
        logs: bool = True,
        resource_uri: pulumi.Input[str] | None = None,
        part: str = "",
    ) -> monitor.DiagnosticSetting:
        """Send `target`'s (or its `part` at `resource_uri`) platform logs and metrics to Log Analytics."""
        return monitor.DiagnosticSetting(
            "-".join(filter(None, [target.pulumi_resource_name, part, "diagnostics"])),
            name="to-log-analytics",
            resource_uri=resource_uri if resource_uri is not None else target.id,
            workspace_id=self.log_analytics.id,
            logs=[monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)] if logs else None,
            metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)],
            opts=pulumi.ResourceOptions(parent=target),
        )
