"""Model monitor signals, computed as Azure ML's model monitors define them, over columns of values.

Azure ML runs a monitor as a (Spark) pipeline job; the metrics, their names and what a threshold means are
documented in learn.microsoft.com/azure/machine-learning/concept-model-monitoring ("Model monitoring signals
and metrics") and carried by azure-ai-ml's `MonitorMetricName`:

- data drift and prediction drift compare each feature of production data with the reference (baseline):
  numerical features by `jensen_shannon_distance`, `normalized_wasserstein_distance` (the default, 0.1),
  `population_stability_index`, `two_sample_kolmogorov_smirnov_test`; categorical features by
  `jensen_shannon_distance` (the default, 0.1), `population_stability_index`, `pearsons_chi_squared_test`.
  A distance breaches above its threshold; a test's value is its p-value and breaches below it.
- data quality: `null_value_rate`, `data_type_error_rate` (a value not of the type the reference has),
  `out_of_bounds_rate` (a number outside the reference's range, a category the reference never has);
  each breaches above its threshold.

Formulas, plainly (the control plane depends on no numerical library): Jensen-Shannon distance is the
square root of the base-2 Jensen-Shannon divergence of the two binned distributions (Lin 1991); the
Wasserstein-1 distance of two samples is the area between their empirical CDFs, normalised by the
reference's standard deviation; the population stability index is sum((p - q) ln(p / q)) over bins (empty
bins smoothed by 1e-4); the chi-squared test is Pearson's test of homogeneity of the 2 x k table of counts,
its p-value the regularised upper incomplete gamma function (Numerical Recipes, 3rd ed., 6.2); the
Kolmogorov-Smirnov p-value is the asymptotic Q_KS with Stephens' correction (Numerical Recipes 14.3.3).
Numerical features are binned on ten equal-width bins over both samples' range.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

BINS = 10
SMOOTH = 1e-4
#: Wire names (MonitoringThreshold.metric, camelCase) -> Azure's documented names.
METRICS = {
    "jensenShannonDistance": "jensen_shannon_distance",
    "normalizedWassersteinDistance": "normalized_wasserstein_distance",
    "populationStabilityIndex": "population_stability_index",
    "twoSampleKolmogorovSmirnovTest": "two_sample_kolmogorov_smirnov_test",
    "pearsonsChiSquaredTest": "pearsons_chi_squared_test",
    "nullValueRate": "null_value_rate",
    "dataTypeErrorRate": "data_type_error_rate",
    "outOfBoundsRate": "out_of_bounds_rate",
}
TESTS = ("two_sample_kolmogorov_smirnov_test", "pearsons_chi_squared_test")  # p-values: breached below the threshold
#: Thresholds when a signal sets none for a data type (azure-ai-ml's `_get_default_thresholds`).
DEFAULTS = {
    "drift": {"numerical": {"normalized_wasserstein_distance": 0.1}, "categorical": {"jensen_shannon_distance": 0.1}},
    "quality": {
        "numerical": {"null_value_rate": 0.0, "data_type_error_rate": 0.0, "out_of_bounds_rate": 0.0},
        "categorical": {"null_value_rate": 0.0, "data_type_error_rate": 0.0, "out_of_bounds_rate": 0.0},
    },
}

Columns = dict[str, list[Any]]


@dataclass(frozen=True)
class Result:
    signal: str
    feature: str
    data_type: str  # numerical or categorical
    metric: str
    value: float
    threshold: float

    @property
    def breached(self) -> bool:
        return self.value < self.threshold if self.metric in TESTS else self.value > self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "feature": self.feature,
            "dataType": self.data_type,
            "metric": self.metric,
            "value": round(self.value, 6),
            "threshold": self.threshold,
            "breached": self.breached,
        }


def evaluate(name: str, signal: dict[str, Any], reference: Columns, production: Columns) -> list[Result]:
    """Every metric the signal asks for (or Azure's defaults), per feature, with its threshold."""
    kind = str(signal.get("signalType", ""))
    family = "quality" if kind == "DataQuality" else "drift"
    thresholds = _thresholds(signal.get("metricThresholds") or [], family)
    results = []
    for feature in _features(signal.get("features"), reference, production):
        ref, prod = reference[feature], production[feature]
        data_type = "numerical" if _numerical(ref) else "categorical"
        for metric, threshold in thresholds[data_type].items():
            value = (quality if family == "quality" else drift)(metric, data_type, ref, prod)
            results.append(Result(name, feature, data_type, metric, value, threshold))
    return results


def _thresholds(given: list[dict[str, Any]], family: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {"numerical": {}, "categorical": {}}
    for item in given:
        metric = METRICS.get(str(item.get("metric")), str(item.get("metric")))
        value = float((item.get("threshold") or {}).get("value", 0.0))
        kinds = {"numerical": ["numerical"], "categorical": ["categorical"]}.get(str(item.get("dataType", "")).lower(), list(out))
        for kind in kinds:
            out[kind][metric] = value
    return {kind: found or dict(DEFAULTS[family][kind]) for kind, found in out.items()}


def _features(spec: Any, reference: Columns, production: Columns) -> list[str]:
    shared = [f for f in reference if f in production]
    if isinstance(spec, dict) and spec.get("filterType") == "FeatureSubset":
        return [f for f in spec.get("features") or [] if f in shared]
    return shared  # AllFeatures; TopNByAttribution needs feature importance, which needs the model: all of them


def drift(metric: str, data_type: str, ref: list[Any], prod: list[Any]) -> float:
    r, p = [v for v in ref if v is not None], [v for v in prod if v is not None]
    if not r or not p:
        return math.nan
    if data_type == "numerical":
        rn, pn = [float(v) for v in r if _is_number(v)], [float(v) for v in p if _is_number(v)]
        if metric == "normalized_wasserstein_distance":
            return wasserstein(rn, pn) / (_std(rn) or 1.0)
        if metric == "two_sample_kolmogorov_smirnov_test":
            return ks_p_value(rn, pn)
        counts = _binned(rn, pn)
    else:
        categories = sorted({str(v) for v in r} | {str(v) for v in p})
        rc, pc = Counter(str(v) for v in r), Counter(str(v) for v in p)
        counts = ([rc[c] for c in categories], [pc[c] for c in categories])
    if metric == "jensen_shannon_distance":
        return jensen_shannon_distance(*counts)
    if metric == "population_stability_index":
        return population_stability_index(*counts)
    if metric == "pearsons_chi_squared_test":
        return chi_squared_p_value(*counts)
    raise ValueError(f"{metric} is not a {data_type} drift metric")


def quality(metric: str, data_type: str, ref: list[Any], prod: list[Any]) -> float:
    if not prod:
        return math.nan
    present = [v for v in prod if v is not None]
    if metric == "null_value_rate":
        return 1 - len(present) / len(prod)
    typed = [v for v in present if _is_number(v) == (data_type == "numerical")]
    if metric == "data_type_error_rate":
        return 1 - len(typed) / len(present) if present else 0.0
    if metric == "out_of_bounds_rate":
        if data_type == "numerical":
            known = [float(v) for v in ref if _is_number(v)]
            low, high = min(known), max(known)
            outside = [v for v in typed if not low <= float(v) <= high]
        else:
            seen = {str(v) for v in ref if v is not None}
            outside = [v for v in typed if str(v) not in seen]
        return len(outside) / len(typed) if typed else 0.0
    raise ValueError(f"{metric} is not a data quality metric")


def jensen_shannon_distance(a: list[int], b: list[int]) -> float:
    p, q = _share(a), _share(b)
    m = [(x + y) / 2 for x, y in zip(p, q, strict=True)]

    def kl(x: list[float]) -> float:
        return sum(xi * math.log2(xi / mi) for xi, mi in zip(x, m, strict=True) if xi > 0)

    return math.sqrt(max(0.0, (kl(p) + kl(q)) / 2))


def population_stability_index(a: list[int], b: list[int]) -> float:
    p, q = [max(x, SMOOTH) for x in _share(a)], [max(x, SMOOTH) for x in _share(b)]
    return sum((qi - pi) * math.log(qi / pi) for pi, qi in zip(p, q, strict=True))


def wasserstein(a: list[float], b: list[float]) -> float:
    """The area between the two empirical CDFs."""
    points = sorted(set(a) | set(b))
    sa, sb = sorted(a), sorted(b)
    area, ia, ib = 0.0, 0, 0
    for left, right in zip(points, points[1:], strict=False):
        while ia < len(sa) and sa[ia] <= left:
            ia += 1
        while ib < len(sb) and sb[ib] <= left:
            ib += 1
        area += abs(ia / len(sa) - ib / len(sb)) * (right - left)
    return area


def ks_p_value(a: list[float], b: list[float]) -> float:
    sa, sb = sorted(a), sorted(b)
    d, ia, ib = 0.0, 0, 0
    for x in sorted(set(a) | set(b)):
        while ia < len(sa) and sa[ia] <= x:
            ia += 1
        while ib < len(sb) and sb[ib] <= x:
            ib += 1
        d = max(d, abs(ia / len(sa) - ib / len(sb)))
    ne = len(a) * len(b) / (len(a) + len(b))
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * d
    if lam < 1e-3:
        return 1.0
    total = sum(2 * (-1) ** (j - 1) * math.exp(-2 * j * j * lam * lam) for j in range(1, 101))
    return min(1.0, max(0.0, total))


def chi_squared_p_value(a: list[int], b: list[int]) -> float:
    columns = [(x, y) for x, y in zip(a, b, strict=True) if x + y]
    na, nb = sum(x for x, _ in columns), sum(y for _, y in columns)
    if len(columns) < 2 or not na or not nb:
        return 1.0
    n = na + nb
    stat = sum(
        (x - na * (x + y) / n) ** 2 / (na * (x + y) / n) + (y - nb * (x + y) / n) ** 2 / (nb * (x + y) / n) for x, y in columns
    )
    return _gamma_q((len(columns) - 1) / 2, stat / 2)


def _gamma_q(a: float, x: float) -> float:
    """The regularised upper incomplete gamma function Q(a, x): the chi-squared survival function at 2x, 2a dof."""
    if x <= 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:  # the series for P(a, x)
        term = total = 1 / a
        ap = a
        for _ in range(500):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1 - total * math.exp(log_front))
    b, c, d = x + 1 - a, 1e300, 1 / (x + 1 - a)  # Lentz's continued fraction for Q(a, x)
    h = d
    for i in range(1, 500):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return min(1.0, math.exp(log_front) * h)


def _binned(a: list[float], b: list[float]) -> tuple[list[int], list[int]]:
    low, high = min(min(a), min(b)), max(max(a), max(b))
    width = (high - low) / BINS or 1.0

    def counts(values: Iterable[float]) -> list[int]:
        out = [0] * BINS
        for v in values:
            out[min(BINS - 1, int((v - low) / width))] += 1
        return out

    return counts(a), counts(b)


def _share(counts: list[int]) -> list[float]:
    total = sum(counts) or 1
    return [c / total for c in counts]


def _std(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _numerical(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(_is_number(v) for v in present)
