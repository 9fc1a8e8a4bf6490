"""Cron expressions that never fire: refused at synth, for the schedule and the roll-out window.

`cron(0 3 30 2 ? *)` (February 30) or `cron(0 22 ? * SAT 2020)` (a past year) pass every field's
own rule, deploy, and then nothing ever happens: no run, or a roll-out that waits for a window
that never opens. The synth looks for the next time each expression fires, within
SEARCH_YEARS (5) years, with the roll-out window's own evaluator (the code Lambda runs); the
schedule's L, W and # day forms, which that evaluator does not take, are evaluated here with
EventBridge Scheduler's meaning of them. Rate expressions always fire.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from image_updater.rollout.window import (
    CRON_FIELDS,
    FIELD_NAMES,
    SEARCH_YEARS,
    Window,
    WindowError,
    cron_value,
    next_window_start,
    parse_window,
    zone_named,
)

_CRON = re.compile(r"cron\((?P<fields>.*)\)")
_DAY_OF_MONTH_FORM = re.compile(r"LW?|L-(?P<before_last>[0-9]+)|(?P<nearest>[0-9]+)W")
_DAY_OF_WEEK_FORM = re.compile(r"L|(?P<day>[0-9]+|[A-Za-z]{3})(?:(?P<last>L)|#(?P<nth>[0-9]+))")
_SATURDAY = 7  # cron's days of the week: 1 = SUN ... 7 = SAT


@dataclass(frozen=True)
class _ScheduleWindow(Window):
    """A window whose day fields may also hold one of EventBridge's L, W or # forms."""

    day_of_month_form: str | None = None
    day_of_week_form: str | None = None

    def matches_day(self, day: date) -> bool:
        return (
            super().matches_day(day)
            and _day_of_month_form_matches(self.day_of_month_form, day)
            and _day_of_week_form_matches(self.day_of_week_form, day)
        )


def never_firing_problems(
    schedule_expression: str,
    rollout_window: str,
    zone_name: str,
    now: datetime | None = None,
) -> Iterator[str]:
    """One problem per expression (schedule, window) that selects no time in SEARCH_YEARS."""
    after = now or datetime.now(UTC)
    for key, expression in (
        ("scheduleExpression", schedule_expression),
        ("rolloutWindow", rollout_window),
    ):
        window = _cron_window(expression)
        if window is not None and next_firing(expression, zone_name, after) is None:
            yield f"{key}: {expression!r} never fires: {_why(window, after)}"


def next_firing(expression: str, zone_name: str, after: datetime) -> datetime | None:
    """When a cron expression next fires at or after `after` (UTC), within SEARCH_YEARS; None
    if it does not (or for rate(...) and `immediately`, which are not cron)."""
    window = _cron_window(expression)
    if window is None:
        return None
    try:
        return next_window_start(window, after, zone_named(zone_name))
    except WindowError:
        return None


def _cron_window(expression: str) -> Window | None:
    """The times a cron expression selects (None for rate(...) and `immediately`)."""
    match = _CRON.fullmatch(expression)
    if not match:
        return None
    cron = dict(zip(FIELD_NAMES, match["fields"].split(" "), strict=True))
    forms = {}
    for name, form in (("day-of-month", _DAY_OF_MONTH_FORM), ("day-of-week", _DAY_OF_WEEK_FORM)):
        if form.fullmatch(cron[name]):
            forms[name] = cron[name].upper()
            cron[name] = "*"  # every day; the form narrows it in matches_day
    window = parse_window(f"cron({' '.join(cron.values())})")
    assert window is not None
    return _ScheduleWindow(
        **{field: getattr(window, field) for field in Window.__dataclass_fields__},
        day_of_month_form=forms.get("day-of-month"),
        day_of_week_form=forms.get("day-of-week"),
    )


def _why(window: Window, after: datetime) -> str:
    horizon = f"within {SEARCH_YEARS} years of {after:%Y-%m-%d}"
    if window.years is not None and max(window.years) < after.year:
        years = ", ".join(map(str, sorted(window.years)))
        return f"its year field selects only past years ({years})"
    if window.years is not None:
        return f"no date {horizon} in its years matches its day and month fields"
    return (
        f"no date {horizon} matches its day-of-month, month and day-of-week fields together "
        "(February 30, for example, never comes)"
    )


def _day_of_month_form_matches(form: str | None, day: date) -> bool:
    if form is None:
        return True
    last = calendar.monthrange(day.year, day.month)[1]
    if form == "L":
        return day.day == last
    if form == "LW":
        return day == _nearest_weekday(day.replace(day=last), last)
    match = _DAY_OF_MONTH_FORM.fullmatch(form)
    assert match
    if match["before_last"] is not None:
        return day.day == last - int(match["before_last"])
    nearest = int(match["nearest"])
    return nearest <= last and day == _nearest_weekday(day.replace(day=nearest), last)


def _day_of_week_form_matches(form: str | None, day: date) -> bool:
    if form is None:
        return True
    weekday = day.isoweekday() % 7 + 1
    if form == "L":
        return weekday == _SATURDAY
    match = _DAY_OF_WEEK_FORM.fullmatch(form)
    assert match
    if weekday != cron_value(CRON_FIELDS["day-of-week"], match["day"]):
        return False
    if match["last"]:
        return day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    return (day.day - 1) // 7 + 1 == int(match["nth"])


def _nearest_weekday(target: date, last: int) -> date:
    """The weekday (Monday to Friday) nearest `target` in its month (EventBridge's `nW`)."""
    weekday = target.weekday()  # Monday 0 ... Sunday 6
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return target.replace(day=target.day - 1) if target.day > 1 else target.replace(day=3)
    if weekday == 6:  # Sunday: the Monday after, or the Friday before on the month's last
        return (
            target.replace(day=target.day + 1)
            if target.day < last
            else target.replace(day=target.day - 2)
        )
    return target
