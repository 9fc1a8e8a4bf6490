"""The rules of `scheduleExpression` (EventBridge Scheduler's rate() and cron()) and of
`rolloutWindow` (the same cron grammar, without run spacing and the L, W and # forms).

Each rule yields "<offending value> <rule>"; the caller adds the key. Expressions that are
well formed but never fire are refused by infra/firing.py, which depends on the synth's date.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from image_updater.rollout.window import (
    CRON_FIELDS,
    FIELD_NAMES,
    IMMEDIATELY,
    UNSUPPORTED_FORMS,
    WindowError,
    cron_item,
    cron_value,
    unsupported_form,
)

_RATE = re.compile(r"rate\((?P<count>[0-9]+) (?P<unit>[a-z]+)\)")
_RATE_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 24 * 60}
_CRON = re.compile(r"cron\((?P<fields>.*)\)")
_MONTHS = "|".join(CRON_FIELDS["month"].names)
_WEEKDAYS = "|".join(CRON_FIELDS["day-of-week"].names)
# EventBridge Scheduler's cron: which wildcards each field accepts.
_CRON_FIELDS = {
    "minutes": re.compile(r"[0-9,*/-]+"),
    "hours": re.compile(r"[0-9,*/-]+"),
    "day-of-month": re.compile(r"[0-9,*/?LW-]+"),
    "month": re.compile(rf"(?:[0-9,*/-]|{_MONTHS})+", re.IGNORECASE),
    "day-of-week": re.compile(rf"(?:[0-9,*?L#-]|{_WEEKDAYS})+", re.IGNORECASE),
    "year": re.compile(r"[0-9,*/-]+"),
}

# The values each field takes and their grammar (`*`, `v`, `a-b`, `/step`, lists) are shared
# with the roll-out window's evaluator in Lambda: image_updater.rollout.window.

# The forms that name no fixed values and must be their field's only value: '?' (any day);
# day-of-month L (last day), LW (last weekday), L-n (n days before the last; undocumented, but
# AWS support confirms it is intended), nW (weekday nearest day n); day-of-week L (Saturday),
# dL (the month's last weekday d), d#n (its nth weekday d).
_CRON_SPECIALS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {
        "day-of-month": re.compile(r"\?|LW?|L-(?P<before_last>[0-9]+)|(?P<day>[0-9]+)W"),
        "day-of-week": re.compile(
            rf"\?|L|(?P<day>[0-9]+|{_WEEKDAYS})(?:L|#(?P<nth>[0-9]+))", re.IGNORECASE
        ),
    }
)
# The counts in those forms: L-n (n days before the month's last) and d#n (the nth weekday d).
_CRON_SPECIAL_COUNTS = (
    (
        "before_last",
        range(1, 31),
        "L-{count}: days before the month's last must be between 1 and {most}",
    ),
    (
        "nth",
        range(1, 6),
        "#{count}: the weekday's occurrence in the month must be between 1 and {most}",
    ),
)
_MINUTES_PER_DAY = 24 * 60
# Runs closer than this overlap: rate() and cron() alike.
_MIN_RUN_SPACING_MINUTES = 60


def schedule_problems(expression: str) -> Iterator[str]:
    rate = _RATE.fullmatch(expression)
    cron = _CRON.fullmatch(expression)
    if rate:
        yield from _rate_problems(expression, int(rate["count"]), rate["unit"])
    elif cron:
        yield from _cron_problems(expression, cron["fields"].split(" "), for_schedule=True)
    else:
        yield f"{expression!r} must be 'rate(N unit)' or 'cron(minutes hours dom month dow year)'"


def _rate_problems(expression: str, count: int, unit: str) -> Iterator[str]:
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNIT_MINUTES:
        yield f"{expression!r} unit must be minute(s), hour(s) or day(s)"
    elif count < 1:
        yield f"{expression!r} must count a positive number of {unit}"
    elif (unit == singular) != (count == 1):
        expected = singular if count == 1 else singular + "s"
        yield f"{expression!r} must say {expected!r} for {count}"
    elif count * _RATE_UNIT_MINUTES[singular] < _MIN_RUN_SPACING_MINUTES:
        yield (
            f"{expression!r} must be at least 1 hour apart: a run would start before "
            "the previous one has checked in on its images"
        )


def _cron_problems(expression: str, fields: list[str], *, for_schedule: bool) -> Iterator[str]:
    """The schedule's checks, or (for_schedule False) a roll-out window's: no run spacing, and
    none of the L, W and # forms, which the window's evaluator in Lambda does not implement."""
    if len(fields) != len(FIELD_NAMES):
        layout = " ".join(FIELD_NAMES)
        yield f"{expression!r} must have 6 fields ({layout}), not {len(fields)}"
        return
    cron = dict(zip(FIELD_NAMES, fields, strict=True))
    if (cron["day-of-month"] == "?") == (cron["day-of-week"] == "?"):
        yield f"{expression!r} must have '?' in exactly one of day-of-month and day-of-week"
    selected: dict[str, frozenset[int]] = {}
    for name, value in cron.items():
        if not _CRON_FIELDS[name].fullmatch(value):
            yield f"{expression!r} has characters not allowed in its {name} field: {value!r}"
            continue
        values, problems = _cron_field(name, value, special_forms=for_schedule)
        yield from (f"{expression!r} {problem}" for problem in problems)
        if not problems:
            selected[name] = values
    if for_schedule and "minutes" in selected and "hours" in selected:
        gap = _smallest_cron_gap(selected["minutes"], selected["hours"])
        if gap < _MIN_RUN_SPACING_MINUTES:
            yield (
                f"{expression!r} starts runs {gap} minute{'s' if gap != 1 else ''} apart; they "
                "must be at least 1 hour apart: a run would start before the previous one has "
                "checked in on its images"
            )


def _cron_field(
    name: str, text: str, *, special_forms: bool
) -> tuple[frozenset[int], tuple[str, ...]]:
    """The values a cron field selects, and a problem for each comma-separated item."""
    items = text.split(",")
    values: set[int] = set()
    problems: list[str] = []
    for item in items:
        try:
            values.update(
                _cron_item(name, item, alone=len(items) == 1, special_forms=special_forms)
            )
        except WindowError as rule:
            problems.append(f"has {item!r} in its {name} field: {rule}")
    return frozenset(values), tuple(problems)


def _cron_item(name: str, item: str, *, alone: bool, special_forms: bool) -> range:
    """The values one item selects: `*`, `v`, `a-b`, each optionally `/step`, or a special.

    Raises WindowError (the shared grammar's error) naming the rule the item breaks.
    """
    if not special_forms and unsupported_form(name, item):
        raise WindowError(UNSUPPORTED_FORMS)
    special = _CRON_SPECIALS[name].fullmatch(item) if name in _CRON_SPECIALS else None
    if not special:
        return cron_item(name, item)
    if not alone:
        raise WindowError("'?', 'L', 'W' and '#' forms must be the field's only value")
    found = special.groupdict()
    if found.get("day") is not None:
        cron_value(CRON_FIELDS[name], found["day"])
    for group, bounds, rule in _CRON_SPECIAL_COUNTS:
        if found.get(group) is not None and int(found[group]) not in bounds:
            raise WindowError(rule.format(count=int(found[group]), most=bounds.stop - 1))
    return range(0)  # these select days; only minutes and hours are counted


def _smallest_cron_gap(minutes: frozenset[int], hours: frozenset[int]) -> int:
    """Minutes between the two closest runs of a cron expression with these minutes and hours.

    The day fields can only remove runs, so they widen gaps, except that the last run of one
    day is followed by the first of the next: assume every day fires and count that wrap too.
    """
    runs = sorted(hour * 60 + minute for hour in hours for minute in minutes)
    wrap = runs[0] + _MINUTES_PER_DAY - runs[-1]
    return min([wrap, *(later - earlier for earlier, later in itertools.pairwise(runs))])


def rollout_window_problems(expression: str) -> Iterator[str]:
    if expression == IMMEDIATELY:
        return
    cron = _CRON.fullmatch(expression)
    if cron:
        yield from _cron_problems(expression, cron["fields"].split(" "), for_schedule=False)
    else:
        layout = " ".join(FIELD_NAMES)
        yield f"{expression!r} must be {IMMEDIATELY!r} or 'cron({layout})'"
