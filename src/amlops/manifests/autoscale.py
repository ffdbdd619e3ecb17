"""A deployment's `autoscale` block: Azure Monitor autoscale, as Azure ML's recipe uses it.

Azure ML online deployments scale through Azure Monitor autoscale settings
(learn.microsoft.com/azure/machine-learning/how-to-autoscale-endpoints): one setting per deployment,
profiles with a capacity (minimum, maximum, default), rules of a metric trigger and a scale action, and
weekly recurrence profiles for schedules. The limits here are the REST API's (Microsoft.Insights
autoscale_API.json, 2022-10-01): at most 20 profiles, 10 rules a profile, a time window between 5 minutes
and 12 hours, a time grain between 1 minute and 12 hours, a cooldown between 1 minute and 1 week.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Count = Annotated[int, Field(ge=1, le=100)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
#: Azure's profile limit (AutoscaleSetting.profiles maxItems 20): the default profile, then two per schedule.
MAX_PROFILES = 20
MAX_SCHEDULES = (MAX_PROFILES - 1) // 2
MAX_RULES = 10  # AutoscaleProfile.rules: "A maximum of 10 rules can be specified"

#: The time zones Azure Monitor autoscale accepts (RecurrentSchedule.timeZone in autoscale_API.json 2022-10-01).
TIME_ZONES = tuple(
    [
        "Dateline Standard Time",
        "UTC-11",
        "Hawaiian Standard Time",
        "Alaskan Standard Time",
        "Pacific Standard Time (Mexico)",
        "Pacific Standard Time",
        "US Mountain Standard Time",
        "Mountain Standard Time (Mexico)",
        "Mountain Standard Time",
        "Central America Standard Time",
        "Central Standard Time",
        "Central Standard Time (Mexico)",
        "Canada Central Standard Time",
        "SA Pacific Standard Time",
        "Eastern Standard Time",
        "US Eastern Standard Time",
        "Venezuela Standard Time",
        "Paraguay Standard Time",
        "Atlantic Standard Time",
        "Central Brazilian Standard Time",
        "SA Western Standard Time",
        "Pacific SA Standard Time",
        "Newfoundland Standard Time",
        "E. South America Standard Time",
        "Argentina Standard Time",
        "SA Eastern Standard Time",
        "Greenland Standard Time",
        "Montevideo Standard Time",
        "Bahia Standard Time",
        "UTC-02",
        "Mid-Atlantic Standard Time",
        "Azores Standard Time",
        "Cape Verde Standard Time",
        "Morocco Standard Time",
        "UTC",
        "GMT Standard Time",
        "Greenwich Standard Time",
        "W. Europe Standard Time",
        "Central Europe Standard Time",
        "Romance Standard Time",
        "Central European Standard Time",
        "W. Central Africa Standard Time",
        "Namibia Standard Time",
        "Jordan Standard Time",
        "GTB Standard Time",
        "Middle East Standard Time",
        "Egypt Standard Time",
        "Syria Standard Time",
        "E. Europe Standard Time",
        "South Africa Standard Time",
        "FLE Standard Time",
        "Turkey Standard Time",
        "Israel Standard Time",
        "Kaliningrad Standard Time",
        "Libya Standard Time",
        "Arabic Standard Time",
        "Arab Standard Time",
        "Belarus Standard Time",
        "Russian Standard Time",
        "E. Africa Standard Time",
        "Iran Standard Time",
        "Arabian Standard Time",
        "Azerbaijan Standard Time",
        "Russia Time Zone 3",
        "Mauritius Standard Time",
        "Georgian Standard Time",
        "Caucasus Standard Time",
        "Afghanistan Standard Time",
        "West Asia Standard Time",
        "Ekaterinburg Standard Time",
        "Pakistan Standard Time",
        "India Standard Time",
        "Sri Lanka Standard Time",
        "Nepal Standard Time",
        "Central Asia Standard Time",
        "Bangladesh Standard Time",
        "N. Central Asia Standard Time",
        "Myanmar Standard Time",
        "SE Asia Standard Time",
        "North Asia Standard Time",
        "China Standard Time",
        "North Asia East Standard Time",
        "Singapore Standard Time",
        "W. Australia Standard Time",
        "Taipei Standard Time",
        "Ulaanbaatar Standard Time",
        "Tokyo Standard Time",
        "Korea Standard Time",
        "Yakutsk Standard Time",
        "Cen. Australia Standard Time",
        "AUS Central Standard Time",
        "E. Australia Standard Time",
        "AUS Eastern Standard Time",
        "West Pacific Standard Time",
        "Tasmania Standard Time",
        "Magadan Standard Time",
        "Vladivostok Standard Time",
        "Russia Time Zone 10",
        "Central Pacific Standard Time",
        "Russia Time Zone 11",
        "New Zealand Standard Time",
        "UTC+12",
        "Fiji Standard Time",
        "Kamchatka Standard Time",
        "Tonga Standard Time",
        "Samoa Standard Time",
        "Line Islands Standard Time",
    ]
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metric(str, Enum):
    """The metrics Azure ML's autoscale recipe scales on, and whose they are."""

    cpu = "cpu"  # CpuUtilizationPercentage, a metric of the deployment
    request_latency = "request_latency"  # RequestLatency (ms), a metric of the endpoint

    @property
    def azure_name(self) -> str:
        return METRICS[self][0]

    @property
    def scope(self) -> Literal["deployment", "endpoint"]:
        return METRICS[self][1]


#: Azure Monitor's metric names (how-to-monitor-online-endpoints, "Available metrics") and the resource that has them:
#: the recipe's CPU rule names the deployment's ARM id, its latency rule the endpoint's.
METRICS: dict[Metric, tuple[str, Literal["deployment", "endpoint"]]] = {
    Metric.cpu: ("CpuUtilizationPercentage", "deployment"),
    Metric.request_latency: ("RequestLatency", "endpoint"),
}


class Operator(str, Enum):
    """ComparisonOperationType."""

    GreaterThan = "GreaterThan"
    GreaterThanOrEqual = "GreaterThanOrEqual"
    LessThan = "LessThan"
    LessThanOrEqual = "LessThanOrEqual"
    Equals = "Equals"
    NotEquals = "NotEquals"


class Day(str, Enum):
    """RecurrentSchedule.days: "Possible values are Sunday through Saturday"."""

    Monday = "Monday"
    Tuesday = "Tuesday"
    Wednesday = "Wednesday"
    Thursday = "Thursday"
    Friday = "Friday"
    Saturday = "Saturday"
    Sunday = "Sunday"


class ScaleRule(Strict):
    """When `metric` compares to `threshold` over `window_minutes`, add (out) or remove (in) `change` instances."""

    metric: Metric
    operator: Operator
    threshold: float
    window_minutes: Annotated[int, Field(ge=5, le=720)] = Field(5, description="timeWindow: 5 minutes to 12 hours")
    time_grain_minutes: Annotated[int, Field(ge=1, le=720)] = Field(1, description="timeGrain: 1 minute to 12 hours")
    statistic: Literal["Average", "Min", "Max", "Sum", "Count"] = Field(
        "Average", description="how the instances' values combine (MetricStatisticType)"
    )
    time_aggregation: Literal["Average", "Minimum", "Maximum", "Total", "Count", "Last"] = Field(
        "Average", description="how the values over the window combine (TimeAggregationType)"
    )
    direction: Literal["out", "in"]
    change: Count = Field(1, description="instances added or removed (ChangeCount)")
    cooldown_minutes: Annotated[int, Field(ge=1, le=10080)] = Field(5, description="cooldown: 1 minute to 1 week")


class ScaleSchedule(Strict):
    """A weekly window with its own instance bounds: a recurrence profile at `start`, the default one back at `end`."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9 _-]{0,62}$")]
    days: list[Day] = Field(min_length=1)
    start: Clock = Field(description="HH:MM in time_zone")
    end: Clock = Field(description="HH:MM in time_zone, later than start on the same day")
    time_zone: str = Field("UTC", description="one of Azure Monitor autoscale's time zones, e.g. W. Europe Standard Time")
    min: Count
    max: Count
    default: Count | None = Field(None, description="defaults to min")

    @model_validator(mode="after")
    def _consistent(self) -> ScaleSchedule:
        if self.time_zone not in TIME_ZONES:
            close = [z for z in TIME_ZONES if z.lower().startswith(self.time_zone.lower()[:3])][:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(f"time_zone {self.time_zone!r} is not one Azure Monitor autoscale accepts{hint}")
        _bounds(self.min, self.default_count, self.max, "min", "default", "max")
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be later than start {self.start} (a window past midnight is two schedules)")
        return self

    @property
    def default_count(self) -> int:
        return self.default if self.default is not None else self.min

    def at(self, clock: str) -> tuple[int, int]:
        hours, minutes = clock.split(":")
        return int(hours), int(minutes)


class Autoscale(Strict):
    """Azure Monitor autoscale for one deployment, applied after its endpoint's rollout completes."""

    min_instances: Count
    max_instances: Count
    default_instances: Count | None = Field(None, description="used while metrics are missing; defaults to min_instances")
    rules: list[ScaleRule] = Field(default_factory=list, max_length=MAX_RULES)
    schedules: list[ScaleSchedule] = Field(
        default_factory=list, max_length=MAX_SCHEDULES, description=f"at most {MAX_SCHEDULES}: Azure allows 20 profiles"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Autoscale:
        _bounds(self.min_instances, self.default_count, self.max_instances, "min_instances", "default_instances", "max_instances")
        directions = {r.direction for r in self.rules}
        if len(directions) == 1:
            # Azure Monitor's best practice ("always use a scale-out and scale-in rule combination"): one direction only
            # leaves the deployment at one end of its range for good.
            missing = "in" if "out" in directions else "out"
            raise ValueError(f"rules scale only {directions.pop()}: add a rule with direction: {missing}")
        names = [s.name for s in self.schedules]
        if len(set(names)) != len(names):
            raise ValueError(f"schedule names repeat: {sorted({n for n in names if names.count(n) > 1})}")
        return self

    @property
    def default_count(self) -> int:
        return self.default_instances if self.default_instances is not None else self.min_instances

    @property
    def peak_instances(self) -> int:
        """The most instances any profile allows: what the deployment may cost at most."""
        return max([self.max_instances, *(s.max for s in self.schedules)])

    @property
    def bounds(self) -> tuple[int, int]:
        """The fewest and the most instances any profile allows: any count between is Azure Monitor's doing."""
        return min([self.min_instances, *(s.min for s in self.schedules)]), self.peak_instances


def _bounds(low: int, default: int, high: int, *names: str) -> None:
    """Azure refuses a capacity whose minimum exceeds its maximum, or a default outside them."""
    if not low <= default <= high:
        raise ValueError(f"needs {names[0]} ({low}) <= {names[1]} ({default}) <= {names[2]} ({high})")


SETTING_NAME = re.compile(r"[^a-zA-Z0-9-]")


def setting_name(endpoint: str, deployment: str) -> str:
    """The autoscale setting's name for an Azure deployment name: one setting per deployment, as Azure allows."""
    return SETTING_NAME.sub("-", f"amlops-{endpoint}-{deployment}")
