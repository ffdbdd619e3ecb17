"""When a schedule fires next: cron and recurrence triggers, in the trigger's time zone.

Azure ML's triggers (learn.microsoft.com/azure/machine-learning/how-to-schedule-pipeline-job, and the
REST spec's CronTrigger and RecurrenceTrigger): a cron `expression` of five fields (minute hour day month
weekday, evaluated by croniter); a recurrence of `frequency` (Minute, Hour, Day, Week, Month) every
`interval` periods counted from `startTime`, at `schedule.hours` x `schedule.minutes` on `weekDays`
(Week) or `monthDays` (Month). `startTime` (default: when the schedule was made) and `endTime` are local
times of `timeZone` unless they carry an offset. Time zones are Windows names (Azure's); tzlocal's table
of the CLDR mapping turns them into IANA zones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from tzlocal.windows_tz import win_tz

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HORIZON = timedelta(days=800)  # how far ahead a recurrence is searched: beyond two years, it never fires


class TriggerError(ValueError):
    """A trigger Azure would refuse: the message says which field."""


def zone(name: str | None) -> ZoneInfo:
    if not name:
        return ZoneInfo("UTC")
    if name not in win_tz:
        raise TriggerError(f"timeZone '{name}' is not a time zone Azure knows (Windows names, e.g. 'UTC').")
    return ZoneInfo(win_tz[name])


def check(trigger: dict[str, Any]) -> None:
    """What Azure refuses at create: an unparsable cron expression, an unknown time zone, a bad start or end."""
    zone(trigger.get("timeZone"))
    if str(trigger.get("triggerType")).lower() == "cron":
        expression = str(trigger.get("expression") or "")
        if len(expression.split()) != 5 or not croniter.is_valid(expression):
            raise TriggerError(f"expression '{expression}' is not a cron expression of five fields.")
    elif int(trigger.get("interval") or 0) < 1:
        raise TriggerError("a recurrence trigger needs interval >= 1.")
    for key in ("startTime", "endTime"):
        _time(trigger.get(key), zone(trigger.get("timeZone")), key)


def next_fire(trigger: dict[str, Any], after: datetime, created: datetime) -> datetime | None:
    """The first time strictly after `after` (aware) the trigger fires; None once past its end."""
    tz = zone(trigger.get("timeZone"))
    start = _time(trigger.get("startTime"), tz, "startTime") or created.astimezone(tz)
    end = _time(trigger.get("endTime"), tz, "endTime")
    base = max(after.astimezone(tz), start - timedelta(microseconds=1))
    if str(trigger.get("triggerType")).lower() == "cron":
        found: datetime = croniter(str(trigger["expression"]), base).get_next(datetime)
    else:
        found = _recurrence(trigger, base, start)
    return None if found is None or (end is not None and found > end) else found.astimezone(UTC)


def _recurrence(trigger: dict[str, Any], base: datetime, start: datetime) -> datetime:
    frequency, interval = str(trigger.get("frequency")).lower(), int(trigger.get("interval") or 1)
    schedule = trigger.get("schedule") or {}
    if frequency in ("minute", "hour") or not schedule:
        step = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
        if frequency == "month":
            return _months_after(start, base, interval)
        period = step[frequency] * interval
        count = max(0, int((base - start) / period) + 1)
        return start + period * count
    hours, minutes = sorted(schedule.get("hours") or [start.hour]), sorted(schedule.get("minutes") or [start.minute])
    week_days = {d.lower() for d in schedule.get("weekDays") or schedule.get("week_days") or [WEEKDAYS[start.weekday()]]}
    month_days = set(schedule.get("monthDays") or schedule.get("month_days") or [start.day])
    day = base.replace(hour=0, minute=0, second=0, microsecond=0)
    while day - base < HORIZON:
        if _period_matches(frequency, interval, day, start, week_days, month_days):
            for h in hours:
                for m in minutes:
                    at = day.replace(hour=h, minute=m)
                    if at > base and at >= start:
                        return at
        day = (day + timedelta(days=1)).replace(tzinfo=day.tzinfo)
    raise TriggerError("the recurrence never fires within two years.")


def _period_matches(
    frequency: str, interval: int, day: datetime, start: datetime, week_days: set[str], month_days: set[int]
) -> bool:
    if frequency == "day":
        return (day.date() - start.date()).days % interval == 0
    if frequency == "week":
        weeks = ((day.date() - start.date()).days + start.weekday() - day.weekday()) // 7
        return weeks % interval == 0 and WEEKDAYS[day.weekday()] in week_days
    months = (day.year - start.year) * 12 + day.month - start.month
    return months % interval == 0 and day.day in month_days


def _months_after(start: datetime, base: datetime, interval: int) -> datetime:
    months = 0
    while True:
        year, month = divmod(start.month - 1 + months, 12)
        try:
            at = start.replace(year=start.year + year, month=month + 1)
        except ValueError:  # no such day in that month
            at = None
        if at is not None and at > base:
            return at
        months += interval


def _time(value: Any, tz: ZoneInfo, field: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise TriggerError(f"{field} '{value}' is not an ISO 8601 date and time.") from exc
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)
