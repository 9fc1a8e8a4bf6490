"""The roll-out window: when production fleets may get a new image.

`rolloutWindow` is `immediately` or an EventBridge-style `cron(minutes hours day-of-month month
day-of-week year)` expression read in the schedule's time zone (scheduleTimezone). Each minute it
matches is a time a roll-out may start updating production fleets; the workflow asks
`next_window_start` for the first one and waits until then.

The cron grammar below (each field's bounds and names, ranges, increments, lists) is also the one
the synth checks `scheduleExpression` and `rolloutWindow` with (infra/config/schedule.py imports
it), so an expression that deployed parses here the same way. EventBridge's L, W and # forms are not
evaluated here; `rolloutWindow` refuses them.

Standard library only: this runs in Lambda, where every import is cold-start time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

IMMEDIATELY = "immediately"
# How far ahead next_window_start looks before deciding a window never starts.
SEARCH_YEARS = 5
FIELD_NAMES = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
UNSUPPORTED_FORMS = "the L, W and # forms are not supported here: list the days instead"

_CRON = re.compile(r"cron\((?P<fields>.*)\)")
_DIGITS = re.compile(r"[0-9]+")
_DAY_FIELDS = ("day-of-month", "day-of-week")
# The letters of EventBridge's L, W and # forms: day-of-month L, LW, L-n, nW; day-of-week L, dL,
# d#n. No weekday name holds an L or a # (WED holds a W, which day-of-week has no form for).
_FORM_LETTERS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {"day-of-month": re.compile(r"[LW]"), "day-of-week": re.compile(r"[L#]", re.IGNORECASE)}
)
# Zones that need no tz data: Lambda's runtime may have none for the others.
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "GMT"})
_ONE_DAY = timedelta(days=1)
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


# The longest the workflow waits for a window (infra/workflow/rollout.py adds it to the
# execution's timeout): a monthly window fits.
WINDOW_MAX_DAYS = 32


class WindowError(ValueError):
    """An invalid window, one that never starts, or an unknown time zone; the message says which."""


class CronField(NamedTuple):
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] spells low + i

    def bounds(self) -> str:
        spelled = f" (or {self.names[0]} to {self.names[-1]})" if self.names else ""
        return f"between {self.low} and {self.high}{spelled}"


# EventBridge's cron: the values each field takes. Days of the week count from 1 = SUN.
CRON_FIELDS: Mapping[str, CronField] = MappingProxyType(
    {
        "minutes": CronField(0, 59),
        "hours": CronField(0, 23),
        "day-of-month": CronField(1, 31),
        "month": CronField(1, 12, _MONTH_NAMES),
        "day-of-week": CronField(1, 7, _WEEKDAY_NAMES),
        "year": CronField(1970, 2199),
    }
)


@dataclass(frozen=True)
class Window:
    """The local times a cron window selects. A day must match every day field that is set."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: '?'
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # 1 = SUN ... 7 = SAT; None: '?'
    years: frozenset[int] | None  # None: '*', every year

    def matches_day(self, day: date) -> bool:
        return (
            (self.years is None or day.year in self.years)
            and day.month in self.months
            and (self.days_of_month is None or day.day in self.days_of_month)
            and (self.days_of_week is None or day.isoweekday() % 7 + 1 in self.days_of_week)
        )


def parse_window(expression: str) -> Window | None:
    """None for `immediately` (any case), else the cron window; WindowError says what is wrong."""
    text = expression.strip()
    if text.lower() == IMMEDIATELY:
        return None
    match = _CRON.fullmatch(text)
    if not match:
        layout = " ".join(FIELD_NAMES)
        raise WindowError(f"{text!r} must be {IMMEDIATELY!r} or 'cron({layout})'")
    fields = match["fields"].split(" ")
    if len(fields) != len(FIELD_NAMES):
        layout = " ".join(FIELD_NAMES)
        raise WindowError(f"{text!r} must have 6 fields ({layout}), not {len(fields)}")
    cron = dict(zip(FIELD_NAMES, fields, strict=True))
    if (cron["day-of-month"] == "?") == (cron["day-of-week"] == "?"):
        raise WindowError(f"{text!r} must have '?' in exactly one of day-of-month and day-of-week")

    def values(name: str) -> frozenset[int]:
        return _selected(text, name, cron[name])

    # '?' (any day) and a '*' year select no values of their own: None. Fields in order, so the
    # first bad one is reported.
    return Window(
        expression=text,
        minutes=values("minutes"),
        hours=values("hours"),
        days_of_month=None if cron["day-of-month"] == "?" else values("day-of-month"),
        months=values("month"),
        days_of_week=None if cron["day-of-week"] == "?" else values("day-of-week"),
        years=None if cron["year"] == "*" else values("year"),
    )


def next_window_start(window: Window, after: datetime, zone: tzinfo) -> datetime:
    """The first whole local minute in `zone` that the window selects, at or after `after`, in UTC.

    A local time a spring-forward skips does not occur that day; one a fall-back repeats starts
    the window at its first occurrence only. Looks SEARCH_YEARS ahead, day by day.
    """
    if after.utcoffset() is None:
        raise ValueError(f"after must be an aware datetime, not {after!r}")
    first = after.astimezone(zone).date()
    last = _years_later(first, SEARCH_YEARS)
    times = sorted(time(hour, minute) for hour in window.hours for minute in window.minutes)
    day = first
    while True:
        if window.matches_day(day):
            for moment in times:
                start = _instant(day, moment, zone)
                if start is not None and start >= after:
                    return start
        if day >= last:
            break
        day += _ONE_DAY
    raise WindowError(
        f"{window.expression} never starts within {SEARCH_YEARS} years of {after.isoformat()}"
    )


def zone_named(name: str) -> tzinfo:
    """The time zone `name`; UTC (and its aliases here) needs no tz data on the runtime."""
    if name in _UTC_NAMES:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        # ValueError: not a zone key ('', absolute, '..'); OSError: a folder such as 'Europe'.
        raise WindowError(f"time zone {name!r}: this runtime has no data for it") from error


def describe(expression: str, zone: str | None = None) -> str:
    """A short text for e-mails: `immediately`, or when production fleets get the image."""
    text = expression.strip()
    if text.lower() == IMMEDIATELY:
        return IMMEDIATELY
    return f"at the next start of {text}" + (f" ({zone})" if zone else "")


# --- the cron grammar, shared with the synth's checks (infra/config/schedule.py) -----------------


def cron_item(name: str, item: str) -> range:
    """The values one item of a cron field selects: `*`, `v` or `a-b`, each optionally `/step`.

    `a/step` runs from a to the field's end. WindowError's message is the rule the item breaks.
    """
    field = CRON_FIELDS[name]
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not _DIGITS.fullmatch(step_text):
            raise WindowError(f"increment {step_text!r} must be a whole number")
        step = int(step_text)
        if step < 1:
            raise WindowError(f"increment {step} must be at least 1")
    if base == "*":
        return range(field.low, field.high + 1, step)
    first, dash, last = base.partition("-")
    start = cron_value(field, first)
    # `a/step` runs from a to the end of the field; a lone value selects itself.
    end = cron_value(field, last) if dash else field.high if slash else start
    if end < start:
        raise WindowError(f"range {base} must go from the lower value to the higher")
    return range(start, end + 1, step)


def cron_value(field: CronField, text: str) -> int:
    """A field's value, as digits or (months, days of the week) a name in any case."""
    if _DIGITS.fullmatch(text):
        number = int(text)
        if not field.low <= number <= field.high:
            raise WindowError(f"{number} must be {field.bounds()}")
        return number
    if text.isascii() and text.upper() in field.names:
        return field.low + field.names.index(text.upper())
    raise WindowError(f"{text!r} must be a number {field.bounds()}")


def unsupported_form(name: str, item: str) -> bool:
    """Whether an item of a day field is spelled with the letters of the L, W or # forms."""
    letters = _FORM_LETTERS.get(name)
    return bool(letters and letters.search(item))


def _selected(expression: str, name: str, text: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        try:
            values.update(_window_item(name, item))
        except WindowError as rule:
            raise WindowError(f"{expression!r} has {item!r} in its {name} field: {rule}") from None
    return frozenset(values)


def _window_item(name: str, item: str) -> range:
    if item == "?" and name in _DAY_FIELDS:
        raise WindowError("'?' must be the field's only value")
    if unsupported_form(name, item):
        raise WindowError(UNSUPPORTED_FORMS)
    if name == "day-of-week" and "/" in item:
        raise WindowError("the day-of-week field takes no increments ('/')")
    return cron_item(name, item)


def _instant(day: date, moment: time, zone: tzinfo) -> datetime | None:
    """`moment` of local `day` in UTC, or None when that day skips it (a spring-forward)."""
    local = datetime.combine(day, moment, tzinfo=zone)  # fold=0: a repeated time's first occurrence
    start = local.astimezone(UTC)
    if start.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return start


def _years_later(day: date, years: int) -> date:
    year = day.year + years
    if year > date.max.year:
        return date.max
    if (day.month, day.day) == (2, 29):
        return date(year, 3, 1) - _ONE_DAY
    return day.replace(year=year)
