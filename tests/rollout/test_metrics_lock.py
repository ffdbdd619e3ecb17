"""Measurement sources' queries and parsers, and lock staleness: pure, no server."""

from __future__ import annotations

import os
import socket

from amlops.rollout.lock import is_stale, new_holder
from amlops.state.record import Lock, Measurement
from amlops.workspace.metrics import LATENCY_METRIC, REQUESTS_METRIC, combine, metrics_query, parse_local, parse_monitor

ENDPOINT_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/churn"


def test_the_azure_monitor_query_asks_for_requests_by_status_class_and_p95():
    url, params = metrics_query("https://management.azure.com/", ENDPOINT_ID, "main-1a2b3c4d", 1_700_000_000, 1_700_000_300)
    assert url == f"https://management.azure.com{ENDPOINT_ID}/providers/Microsoft.Insights/metrics"
    assert params["metricnames"] == f"{REQUESTS_METRIC},{LATENCY_METRIC}"
    assert params["timespan"] == "2023-11-14T22:13:20Z/2023-11-14T22:18:20Z"
    assert params["$filter"] == "deployment eq 'main-1a2b3c4d' and statusCodeClass eq '*'"
    assert params["interval"] == "PT1M" and "Total" in params["aggregation"]


def test_azure_monitor_answers_are_summed_with_5xx_as_errors_and_the_worst_p95():
    def series(status_class, totals):
        return {
            "metadatavalues": [{"name": {"value": "statusCodeClass"}, "value": status_class}],
            "data": [{"timeStamp": f"2023-11-14T22:1{i}:00Z", "total": t} for i, t in enumerate(totals)],
        }

    body = {
        "value": [
            {
                "name": {"value": REQUESTS_METRIC},
                "timeseries": [series("2xx", [30, 40]), series("5xx", [1, 0]), series("4xx", [2, None])],
            },
            {"name": {"value": LATENCY_METRIC}, "timeseries": [{"data": [{"average": 120.0}, {"average": 310.5}, {}]}]},
        ]
    }
    assert parse_monitor(body) == Measurement(73, 1, 310.5)
    assert parse_monitor({"value": []}) == Measurement(0, 0, None)


def test_the_local_metrics_summary_is_read_per_deployment():
    summary = {
        "deployments": {
            "main-new": {"requests": 12, "errors": 1, "latency_ms": {"p95": 40.0}},
            "main-old": {"requests": 88, "errors": 0, "latency_ms": {"p95": 10.0}},
        }
    }
    assert parse_local(summary, ["main-new"]) == Measurement(12, 1, 40.0)
    assert parse_local(summary, ["Main-New", "absent"]) == Measurement(12, 1, 40.0)
    assert combine([Measurement(1, 0, None), Measurement(2, 1, 5.0)]) == Measurement(3, 1, 5.0)


def test_locks_expire_and_die_with_their_process_on_this_host():
    host = socket.gethostname()[:60]
    mine = Lock(new_holder(), 2_000)
    assert mine.holder.startswith(f"{host}/{os.getpid()}/")
    assert not is_stale(mine, now=1_000)
    assert is_stale(mine, now=2_000)
    assert is_stale(Lock(f"{host}/999999999/x", 2_000), now=1_000)  # no such process here
    assert not is_stale(Lock("elsewhere/999999999/x", 2_000), now=1_000)  # another machine: wait for expiry
