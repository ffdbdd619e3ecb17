"""The aggregation node: the share of lines graded correct, logged as the run's `accuracy` metric."""

from promptflow.core import log_metric, tool


@tool
def accuracy(grades: list[int]) -> float:
    value = round(sum(grades) / len(grades), 4) if grades else 0.0
    log_metric(key="accuracy", value=value)
    return value
