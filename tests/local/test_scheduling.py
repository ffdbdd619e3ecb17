"""The local control plane's scheduler and monitor metrics, without a server: when triggers fire (in their
time zone), and that each metric matches SciPy's reference implementation on the same samples."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from amlops.local import monitoring
from amlops.local.monitor_data import production
from amlops.local.scheduling import TriggerError, check, next_fire

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("trigger", "fires"),
    [
        ({"triggerType": "Cron", "expression": "0 6 * * 1", "timeZone": "W. Europe Standard Time"}, "2026-12-07T05:00:00+00:00"),
        ({"triggerType": "Cron", "expression": "*/15 * * * *"}, "2026-12-02T02:15:00+00:00"),
        (
            {"triggerType": "Recurrence", "frequency": "day", "interval": 1, "schedule": {"hours": [3], "minutes": [15]}},
            "2026-12-02T03:15:00+00:00",
        ),
        (  # every other Friday from the 20th of November, 04:00 and 04:30 in Seattle
            {
                "triggerType": "Recurrence",
                "frequency": "week",
                "interval": 2,
                "schedule": {"hours": [4], "minutes": [0, 30], "weekDays": ["Friday"]},
                "timeZone": "Pacific Standard Time",
                "startTime": "2026-11-20T00:00:00",
            },
            "2026-12-04T12:00:00+00:00",
        ),
        (
            {"triggerType": "Recurrence", "frequency": "hour", "interval": 3, "startTime": "2026-12-01T10:00:00"},
            "2026-12-02T04:00:00+00:00",
        ),
        (
            {"triggerType": "Recurrence", "frequency": "month", "interval": 1, "startTime": "2026-01-31T10:00:00"},
            "2026-12-31T10:00:00+00:00",
        ),
    ],
)
def test_next_fire(trigger, fires):
    assert next_fire(trigger, NOW, NOW).isoformat() == fires


def test_a_schedule_past_its_end_never_fires_and_bad_triggers_are_refused():
    ended = {"triggerType": "Cron", "expression": "0 * * * *", "endTime": "2026-12-01T00:00:00"}
    assert next_fire(ended, NOW, NOW) is None
    for bad, says in [
        ({"triggerType": "Cron", "expression": "0 6 * *"}, "five fields"),
        ({"triggerType": "Cron", "expression": "0 6 * * 1", "timeZone": "Europe/Paris"}, "time zone"),
        ({"triggerType": "Recurrence", "frequency": "Day", "interval": 0}, "interval"),
        ({"triggerType": "Cron", "expression": "0 6 * * 1", "startTime": "monday"}, "ISO 8601"),
    ]:
        with pytest.raises(TriggerError, match=says):
            check(bad)


def samples() -> tuple[list[float], list[float]]:
    rng = random.Random(3)
    return [rng.gauss(0, 1) for _ in range(400)], [rng.gauss(0.4, 1.2) for _ in range(250)]


def test_numerical_drift_metrics_match_scipy():
    a, b = samples()
    assert monitoring.wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9)
    assert monitoring.drift("normalized_wasserstein_distance", "numerical", a, b) == pytest.approx(
        stats.wasserstein_distance(a, b) / float(stats.tstd(a, ddof=0)), rel=1e-9
    )
    assert monitoring.ks_p_value(a, b) == pytest.approx(stats.ks_2samp(a, b, method="asymp").pvalue, rel=0.05)


def test_categorical_drift_metrics_match_scipy():
    a, b = [30, 50, 20], [25, 40, 45]
    assert monitoring.jensen_shannon_distance(a, b) == pytest.approx(jensenshannon(a, b, base=2), rel=1e-9)
    assert monitoring.chi_squared_p_value(a, b) == pytest.approx(stats.chi2_contingency([a, b])[1], rel=1e-9)
    p, q = [x / 100 for x in a], [x / 110 for x in b]
    assert monitoring.population_stability_index(a, b) == pytest.approx(
        sum((y - x) * math.log(y / x) for x, y in zip(p, q, strict=True))
    )


def test_a_signal_breaches_by_azure_rules_distances_above_tests_below():
    reference = {"tenure": [float(i % 10) for i in range(200)], "plan": ["a", "b"] * 100}
    shifted = {"tenure": [float(i % 10) + 4 for i in range(200)], "plan": ["a", "b"] * 100}
    signal = {
        "signalType": "DataDrift",
        "metricThresholds": [
            {"metric": "normalizedWassersteinDistance", "threshold": {"value": 0.1}, "dataType": "Numerical"},
            {"metric": "pearsonsChiSquaredTest", "threshold": {"value": 0.05}, "dataType": "Categorical"},
        ],
    }
    results = {r.feature: r for r in monitoring.evaluate("drift", signal, reference, shifted)}
    assert results["tenure"].breached and results["tenure"].value == pytest.approx(4 / 2.8722813, rel=1e-6)
    assert results["plan"].metric == "pearsons_chi_squared_test" and not results["plan"].breached  # p = 1
    quality = {"signalType": "DataQuality", "metricThresholds": [{"metric": "outOfBoundsRate", "threshold": {"value": 0.1}}]}
    [tenure, plan] = monitoring.evaluate(
        "quality", quality, reference, {"tenure": [1.0, 20.0, None, 3.0], "plan": ["a", "c", "b", "b"]}
    )
    assert (tenure.value, tenure.breached) == (pytest.approx(1 / 3), True)
    assert (plan.value, plan.breached) == (0.25, True)


def test_production_rows_are_the_collected_hours_inside_the_window(tmp_path: Path):
    def write(hour: datetime, value: float) -> None:
        folder = tmp_path / hour.strftime("%Y/%m/%d/%H")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "a.jsonl").write_text(json.dumps({"data": [{"x": value}, {"x": value}]}) + "\n")

    now = datetime.now(UTC)
    write(now, 1.0)
    write(now - timedelta(days=2), 2.0)
    write(now - timedelta(days=9), 3.0)  # before a seven-day window
    assert sorted(production(tmp_path, "P0D", "P7D")["x"]) == [1.0, 1.0, 2.0, 2.0]
    assert sorted(production(tmp_path, "P1D", "P7D")["x"]) == [2.0, 2.0]  # a day back: now's hour is out
