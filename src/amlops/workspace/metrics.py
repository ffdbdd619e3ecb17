"""Where gates get their measurements: Azure Monitor in Azure, the control plane's metrics route locally.

Both answer one question, the requests a set of deployments served since a step began, with their
errors (5xx, and 408 for a model past its timeout) and 95th-percentile latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from amlops.state.record import Measurement
from amlops.workspace.transport import session

#: The ARM metrics API (Azure Monitor) and the online endpoint metrics it serves.
MONITOR_API_VERSION = "2023-10-01"
REQUESTS_METRIC = "RequestsPerMinute"
LATENCY_METRIC = "RequestLatency_P95"


class MetricsSource(Protocol):
    def measure(self, endpoint: str, deployments: Sequence[str], since: float) -> Measurement:
        """Requests to `deployments` of `endpoint` since `since` (epoch seconds), as one measurement."""
        ...


def combine(parts: Sequence[Measurement]) -> Measurement:
    """Several deployments' measurements as one: counts add up, the worst p95 stands for all."""
    latencies = [p.p95_ms for p in parts if p.p95_ms is not None]
    return Measurement(sum(p.requests for p in parts), sum(p.errors for p in parts), max(latencies) if latencies else None)


class LocalMetrics:
    """The local control plane's per-deployment scoring metrics (its stand-in for Azure Monitor)."""

    def __init__(self, admin_url: str, scope: dict[str, str], ca_file: str | None, credential: Any) -> None:
        """`scope`: the workspace as the admin route takes it (subscription, resource_group, workspace);
        `ca_file`: the CA its TLS is verified with (None: the environment's); `credential`: the control plane's (its routes
        refuse other tokens)."""
        self.admin_url, self.scope, self.verify = admin_url.rstrip("/"), scope, ca_file or True
        self.credential = credential

    def measure(self, endpoint: str, deployments: Sequence[str], since: float) -> Measurement:
        response = session().get(
            f"{self.admin_url}/_local/metrics",
            params={**self.scope, "endpoint": endpoint, "since": str(since)},
            headers={"Authorization": f"Bearer {self.credential.get_token(self.admin_url).token}"},
            verify=self.verify,
            timeout=30,
        )
        response.raise_for_status()
        return parse_local(response.json(), deployments)


def parse_local(summary: dict[str, Any], deployments: Sequence[str]) -> Measurement:
    """The control plane's summary (per deployment: requests, errors, latency_ms.p95) for `deployments`."""
    found = {name.lower(): value for name, value in summary.get("deployments", summary).items()}
    parts = []
    for name in deployments:
        item = found.get(name.lower()) or {}
        parts.append(
            Measurement(int(item.get("requests", 0)), int(item.get("errors", 0)), (item.get("latency_ms") or {}).get("p95"))
        )
    return combine(parts)


class AzureMonitorMetrics:
    """Online endpoint metrics from Azure Monitor, per deployment, at one-minute grain.

    Azure Monitor ingests with a delay of a minute or more: a gate waits for `min_requests` to show,
    and its timeout should allow for that delay.
    """

    def __init__(self, credential: Any, endpoint_resource_id: str, management_url: str = "https://management.azure.com") -> None:
        self.credential, self.endpoint_resource_id, self.management_url = credential, endpoint_resource_id, management_url

    def measure(self, endpoint: str, deployments: Sequence[str], since: float) -> Measurement:
        token = self.credential.get_token(f"{self.management_url}/.default").token
        parts = []
        for deployment in deployments:
            url, params = metrics_query(
                self.management_url, self.endpoint_resource_id.format(endpoint=endpoint), deployment, since
            )
            response = session().get(url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=60)
            response.raise_for_status()
            parts.append(parse_monitor(response.json()))
        return combine(parts)


def metrics_query(
    management_url: str, endpoint_id: str, deployment: str, since: float, until: float | None = None
) -> tuple[str, dict[str, str]]:
    """The Azure Monitor metrics request for one deployment: requests by status class, and p95 latency."""
    start = _iso(since)
    end = _iso(until) if until is not None else _iso(datetime.now(UTC).timestamp())
    return (
        f"{management_url.rstrip('/')}{endpoint_id}/providers/Microsoft.Insights/metrics",
        {
            "api-version": MONITOR_API_VERSION,
            "metricnames": f"{REQUESTS_METRIC},{LATENCY_METRIC}",
            "timespan": f"{start}/{end}",
            "interval": "PT1M",
            "aggregation": "Total,Average",
            "$filter": f"deployment eq '{deployment}' and statusCodeClass eq '*'",
        },
    )


def parse_monitor(body: dict[str, Any]) -> Measurement:
    """Requests and 5xx from `RequestsPerMinute` totals; the worst minute of `RequestLatency_P95`."""
    requests_total = errors = 0.0
    latencies: list[float] = []
    for metric in body.get("value", []):
        name = (metric.get("name") or {}).get("value", "")
        for series in metric.get("timeseries", []):
            labels = {
                (m.get("name") or {}).get("value", "").lower(): str(m.get("value", "")) for m in series.get("metadatavalues", [])
            }
            for point in series.get("data", []):
                if name == REQUESTS_METRIC and point.get("total") is not None:
                    requests_total += point["total"]
                    errors += point["total"] if labels.get("statuscodeclass", "").startswith("5") else 0
                elif name == LATENCY_METRIC and point.get("average") is not None:
                    latencies.append(float(point["average"]))
    return Measurement(int(requests_total), int(errors), max(latencies) if latencies else None)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
