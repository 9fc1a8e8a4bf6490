"""The roll-out window: parsing `rolloutWindow` and finding its next start, DST included."""

from __future__ import annotations

import sys
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from image_updater.rollout.window import (
    IMMEDIATELY,
    Window,
    WindowError,
    describe,
    next_window_start,
    parse_window,
    zone_named,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
UNSUPPORTED = "the L, W and # forms are not supported here: list the days instead"
EVERY_DAY = frozenset(range(1, 32))
ALL_MONTHS = frozenset(range(1, 13))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def window(expression: str) -> Window:
    parsed = parse_window(expression)
    assert parsed is not None
    return parsed


# --- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["immediately", "IMMEDIATELY", " Immediately "])
def test_immediately_in_any_case_is_no_window(expression: str) -> None:
    assert parse_window(expression) is None
    assert IMMEDIATELY == "immediately"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "cron(0 3 * * ? *)",
            Window(
                "cron(0 3 * * ? *)",
                frozenset({0}),
                frozenset({3}),
                EVERY_DAY,
                ALL_MONTHS,
                None,
                None,
            ),
        ),
        (
            # '*' in day-of-week with '?' in day-of-month: every day too, counted by weekday
            "cron(0 12 ? * * *)",
            Window(
                "cron(0 12 ? * * *)",
                frozenset({0}),
                frozenset({12}),
                None,
                ALL_MONTHS,
                frozenset(range(1, 8)),
                None,
            ),
        ),
        (
            "cron(*/15 9-17 ? * MON-FRI *)",
            Window(
                "cron(*/15 9-17 ? * MON-FRI *)",
                frozenset({0, 15, 30, 45}),
                frozenset(range(9, 18)),
                None,
                ALL_MONTHS,
                frozenset({2, 3, 4, 5, 6}),
                None,
            ),
        ),
        (
            # a/n runs to the field's end; lists; month names; one year
            "cron(5/20 22/3 1,15 JAN-MAR ? 2026)",
            Window(
                "cron(5/20 22/3 1,15 JAN-MAR ? 2026)",
                frozenset({5, 25, 45}),
                frozenset({22}),
                frozenset({1, 15}),
                frozenset({1, 2, 3}),
                None,
                frozenset({2026}),
            ),
        ),
        (
            # a-b/n, names in any case, SUN = 1 and SAT = 7, stepped years
            "cron(0-10/5 0 ? jul,Dec sun,SAT 2026-2030/2)",
            Window(
                "cron(0-10/5 0 ? jul,Dec sun,SAT 2026-2030/2)",
                frozenset({0, 5, 10}),
                frozenset({0}),
                None,
                frozenset({7, 12}),
                frozenset({1, 7}),
                frozenset({2026, 2028, 2030}),
            ),
        ),
        (
            # repeated and overlapping values collapse; */n on the days of the month
            "cron(0 1,2,1 */10 4-5,5 ? *)",
            Window(
                "cron(0 1,2,1 */10 4-5,5 ? *)",
                frozenset({0}),
                frozenset({1, 2}),
                frozenset({1, 11, 21, 31}),
                frozenset({4, 5}),
                None,
                None,
            ),
        ),
        (
            " cron(59 23 31 12 ? 2199) ",
            Window(
                "cron(59 23 31 12 ? 2199)",
                frozenset({59}),
                frozenset({23}),
                frozenset({31}),
                frozenset({12}),
                None,
                frozenset({2199}),
            ),
        ),
    ],
)
def test_every_form_selects_its_values(expression: str, expected: Window) -> None:
    assert parse_window(expression) == expected


@pytest.mark.parametrize(
    ("name", "number"),
    [("SUN", 1), ("mon", 2), ("Tue", 3), ("WED", 4), ("thu", 5), ("FRI", 6), ("sat", 7)],
)
def test_weekday_names_count_from_sunday_as_eventbridge_does(name: str, number: int) -> None:
    assert window(f"cron(0 0 ? * {name} *)").days_of_week == frozenset({number})


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "weekly",
            "'weekly' must be 'immediately' or "
            "'cron(minutes hours day-of-month month day-of-week year)'",
        ),
        ("rate(1 day)", "'rate(1 day)' must be 'immediately' or 'cron("),
        ("", "'' must be 'immediately' or 'cron("),
        (
            "cron(0 3 * * ?)",
            "'cron(0 3 * * ?)' must have 6 fields "
            "(minutes hours day-of-month month day-of-week year), not 5",
        ),
        ("cron(0  3 * * ? *)", "must have 6 fields (minutes hours day-of-month month"),
        (
            "cron(0 3 * * * *)",
            "'cron(0 3 * * * *)' must have '?' in exactly one of day-of-month and day-of-week",
        ),
        ("cron(0 3 ? * ? *)", "must have '?' in exactly one of day-of-month and day-of-week"),
        (
            "cron(60 3 * * ? *)",
            "'cron(60 3 * * ? *)' has '60' in its minutes field: 60 must be between 0 and 59",
        ),
        ("cron(0 24 * * ? *)", "has '24' in its hours field: 24 must be between 0 and 23"),
        ("cron(0 3 0 * ? *)", "has '0' in its day-of-month field: 0 must be between 1 and 31"),
        (
            "cron(0 3 ? 13 MON *)",
            "has '13' in its month field: 13 must be between 1 and 12 (or JAN to DEC)",
        ),
        (
            "cron(0 3 ? * 8 *)",
            "has '8' in its day-of-week field: 8 must be between 1 and 7 (or SUN to SAT)",
        ),
        ("cron(0 3 * * ? 1969)", "has '1969' in its year field: 1969 must be between 1970"),
        ("cron(0 3,25 * * ? *)", "has '25' in its hours field"),
        ("cron(0 5-3 * * ? *)", "has '5-3' in its hours field: range 5-3 must go from the lower"),
        ("cron(0/0 3 * * ? *)", "has '0/0' in its minutes field: increment 0 must be at least 1"),
        ("cron(*/a 3 * * ? *)", "has '*/a' in its minutes field: increment 'a' must be a whole"),
        ("cron(0 3 * JANX ? *)", "has 'JANX' in its month field: 'JANX' must be a number"),
        ("cron(0 3 ? * \u017fun *)", "in its day-of-week field: '\u017fun' must be a number"),
        ("cron(0 3 * * ? 2026,)", "has '' in its year field: '' must be a number"),
        ("cron(? 3 * * ? *)", "has '?' in its minutes field: '?' must be a number"),
        ("cron(0 3 ?,1 * ? *)", "has '?' in its day-of-month field: '?' must be the field's only"),
        (
            "cron(0 3 ? * MON/2 *)",
            "has 'MON/2' in its day-of-week field: the day-of-week field takes no increments",
        ),
        (
            "cron(0 3 L * ? *)",
            f"'cron(0 3 L * ? *)' has 'L' in its day-of-month field: {UNSUPPORTED}",
        ),
        ("cron(0 3 LW * ? *)", f"has 'LW' in its day-of-month field: {UNSUPPORTED}"),
        ("cron(0 3 L-2 * ? *)", f"has 'L-2' in its day-of-month field: {UNSUPPORTED}"),
        ("cron(0 3 15W * ? *)", f"has '15W' in its day-of-month field: {UNSUPPORTED}"),
        ("cron(0 3 1,L * ? *)", f"has 'L' in its day-of-month field: {UNSUPPORTED}"),
        ("cron(0 3 ? * L *)", f"has 'L' in its day-of-week field: {UNSUPPORTED}"),
        ("cron(0 3 ? * 6L *)", f"has '6L' in its day-of-week field: {UNSUPPORTED}"),
        ("cron(0 3 ? * 2#1 *)", f"has '2#1' in its day-of-week field: {UNSUPPORTED}"),
        ("cron(0 3 ? * fri#3 *)", f"has 'fri#3' in its day-of-week field: {UNSUPPORTED}"),
    ],
)
def test_invalid_windows_raise_the_rule(expression: str, message: str) -> None:
    with pytest.raises(WindowError) as raised:
        parse_window(expression)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


# --- the next start ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # the very minute counts (at or after)
        ("cron(0 3 * * ? *)", utc(2026, 6, 1, 3, 0), utc(2026, 6, 1, 3, 0)),
        # a microsecond later it has passed: tomorrow
        (
            "cron(0 3 * * ? *)",
            utc(2026, 6, 1, 3, 0) + timedelta(microseconds=1),
            utc(2026, 6, 2, 3, 0),
        ),
        ("cron(0 3 * * ? *)", utc(2026, 6, 1, 1, 17, 42), utc(2026, 6, 1, 3, 0)),  # later today
        ("cron(0 3 * * ? *)", utc(2026, 6, 1, 4, 0), utc(2026, 6, 2, 3, 0)),  # tomorrow
        ("cron(0,30 * * * ? *)", utc(2026, 6, 1, 10, 7, 30), utc(2026, 6, 1, 10, 30)),
        ("cron(* * * * ? *)", utc(2026, 6, 1, 10, 7, 30), utc(2026, 6, 1, 10, 8)),
        # day of the week only: Wednesday 3 June 2026 -> Saturday 6 June; SUN is 1
        ("cron(0 22 ? * SAT *)", utc(2026, 6, 3, 12, 0), utc(2026, 6, 6, 22, 0)),
        ("cron(0 22 ? * SAT *)", utc(2026, 6, 6, 22, 1), utc(2026, 6, 13, 22, 0)),
        ("cron(0 8 ? * 1 *)", utc(2026, 6, 3, 12, 0), utc(2026, 6, 7, 8, 0)),
        ("cron(0 8 ? * MON-FRI *)", utc(2026, 6, 5, 9, 0), utc(2026, 6, 8, 8, 0)),  # Fri -> Mon
        # month and year boundaries
        ("cron(0 0 1 * ? *)", utc(2026, 1, 31, 12, 0), utc(2026, 2, 1, 0, 0)),
        ("cron(0 0 1 1 ? *)", utc(2026, 12, 31, 23, 59, 1), utc(2027, 1, 1, 0, 0)),
        ("cron(0 0 * * ? 2028)", utc(2026, 6, 1), utc(2028, 1, 1, 0, 0)),
        ("cron(30 4 ? FEB-MAR MON 2027)", utc(2026, 6, 1), utc(2027, 2, 1, 4, 30)),
        # days some months lack are skipped, not moved
        ("cron(0 12 29 2 ? *)", utc(2026, 3, 1), utc(2028, 2, 29, 12, 0)),
        ("cron(0 6 31 * ? *)", utc(2026, 4, 1), utc(2026, 5, 31, 6, 0)),
        ("cron(0 6 30,31 FEB,APR ? *)", utc(2026, 2, 1), utc(2026, 4, 30, 6, 0)),
        # almost five years ahead is still found
        ("cron(0 0 1 1 ? 2031)", utc(2026, 6, 1), utc(2031, 1, 1, 0, 0)),
    ],
)
def test_next_start_in_utc(expression: str, after: datetime, expected: datetime) -> None:
    # When
    start = next_window_start(window(expression), after, UTC)

    # Then the first matching minute at or after `after`, in UTC
    assert start == expected
    assert start.utcoffset() == timedelta(0)


def test_next_start_reads_the_window_in_its_zone_and_answers_in_utc() -> None:
    # Given 03:00 in Paris in summer (CEST, UTC+2) and in winter (CET, UTC+1)
    daily = window("cron(0 3 * * ? *)")

    # When / Then
    summer = next_window_start(daily, utc(2026, 6, 1), PARIS)
    assert summer == utc(2026, 6, 1, 1, 0)
    assert summer.tzinfo is UTC
    assert next_window_start(daily, utc(2026, 1, 15), PARIS) == utc(2026, 1, 15, 2, 0)
    # and `after` may be in any zone: 05:00 in Tokyo is 20:00 UTC the day before
    tokyo = datetime(2026, 6, 1, 5, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert next_window_start(window("cron(0 21 * * ? *)"), tokyo, UTC) == utc(2026, 5, 31, 21)


def test_the_local_day_decides_the_weekday() -> None:
    # Given Saturday 22:00 in New York, which is Sunday 02:00 UTC
    saturday_night = window("cron(0 22 ? * SAT *)")

    # When / Then
    assert next_window_start(saturday_night, utc(2026, 6, 3), NEW_YORK) == utc(2026, 6, 7, 2, 0)


@pytest.mark.parametrize(
    ("expression", "after"),
    [
        ("cron(0 0 31 2 ? *)", utc(2026, 1, 1)),  # 31 February
        ("cron(0 0 30 FEB ? *)", utc(2026, 1, 1)),
        ("cron(0 0 * * ? 2020-2025)", utc(2026, 1, 1)),  # years gone by
        ("cron(0 0 1 1 ? 2035)", utc(2026, 6, 1)),  # beyond five years
    ],
)
def test_a_window_that_never_starts_within_five_years_is_an_error(
    expression: str, after: datetime
) -> None:
    with pytest.raises(WindowError) as raised:
        next_window_start(window(expression), after, UTC)
    assert str(raised.value) == (f"{expression} never starts within 5 years of {after.isoformat()}")


def test_after_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_window_start(window("cron(0 3 * * ? *)"), datetime(2026, 6, 1), UTC)


# --- daylight saving time ------------------------------------------------------------------------

# Paris: 29 March 2026 02:00 CET -> 03:00 CEST; 25 October 2026 03:00 CEST -> 02:00 CET.
# New York: 8 March 2026 02:00 EST -> 03:00 EDT; 1 November 2026 02:00 EDT -> 01:00 EST.


@pytest.mark.parametrize(
    ("expression", "after", "zone", "expected"),
    [
        # 02:30 does not exist in Paris on 29 March: the next is 30 March 02:30 CEST
        ("cron(30 2 * * ? *)", utc(2026, 3, 28, 12), PARIS, utc(2026, 3, 30, 0, 30)),
        # nor does any minute of 02:xx
        ("cron(* 2 * * ? *)", utc(2026, 3, 28, 12), PARIS, utc(2026, 3, 30, 0, 0)),
        # the same day's next selected time that exists: 03:30 CEST
        ("cron(30 2,3 * * ? *)", utc(2026, 3, 28, 23), PARIS, utc(2026, 3, 29, 1, 30)),
        # a window on the skipped hour's day of the week only waits a week
        ("cron(30 2 ? * SUN *)", utc(2026, 3, 28, 12), PARIS, utc(2026, 4, 5, 0, 30)),
        # 02:30 happens twice on 25 October: the first time (CEST, 00:30 UTC)
        ("cron(30 2 * * ? *)", utc(2026, 10, 24, 22), PARIS, utc(2026, 10, 25, 0, 30)),
        # between the two 02:30s, the second does not start the window: the next day's does
        ("cron(30 2 * * ? *)", utc(2026, 10, 25, 0, 45), PARIS, utc(2026, 10, 26, 1, 30)),
        # the hour after the repeated one is in CET
        ("cron(0 3 * * ? *)", utc(2026, 10, 24, 22), PARIS, utc(2026, 10, 25, 2, 0)),
        ("cron(30 2 * * ? *)", utc(2026, 3, 8, 5), NEW_YORK, utc(2026, 3, 9, 6, 30)),
        ("cron(30 1 * * ? *)", utc(2026, 3, 8, 5), NEW_YORK, utc(2026, 3, 8, 6, 30)),  # EST
        ("cron(30 3 * * ? *)", utc(2026, 3, 8, 5), NEW_YORK, utc(2026, 3, 8, 7, 30)),  # EDT
        # 01:30 twice on 1 November: the first time (EDT, 05:30 UTC)
        ("cron(30 1 * * ? *)", utc(2026, 11, 1, 4), NEW_YORK, utc(2026, 11, 1, 5, 30)),
        ("cron(30 1 * * ? *)", utc(2026, 11, 1, 6), NEW_YORK, utc(2026, 11, 2, 6, 30)),
    ],
)
def test_daylight_saving_skips_missing_times_and_takes_repeated_ones_once(
    expression: str, after: datetime, zone: tzinfo, expected: datetime
) -> None:
    assert next_window_start(window(expression), after, zone) == expected


def test_an_after_in_the_repeated_hour_counts_as_the_occurrence_it_is() -> None:
    # Given 02:45 on Paris's fall-back day, the first time (CEST) and the second (CET)
    first = datetime(2026, 10, 25, 2, 45, tzinfo=PARIS)
    second = datetime(2026, 10, 25, 2, 45, fold=1, tzinfo=PARIS)
    at_2_50 = window("cron(50 2 * * ? *)")

    # When / Then the first is followed by 02:50 CEST; the second has passed it: the next day's
    assert next_window_start(at_2_50, first, PARIS) == utc(2026, 10, 25, 0, 50)
    assert next_window_start(at_2_50, second, PARIS) == utc(2026, 10, 26, 1, 50)


def first_start_by_enumeration(expression: str, after: datetime, zone: tzinfo) -> datetime:
    """Every UTC minute from `after` on, read in `zone`: the first that matches and is not the
    second pass of a repeated hour. Checks fields by name, independently of the window."""
    minutes, hours, day_of_month, month, day_of_week, year = expression[5:-1].split(" ")
    weekdays = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]  # datetime.weekday() order

    def matches(local: datetime) -> bool:
        return (
            (minutes == "*" or local.minute in {int(m) for m in minutes.split(",")})
            and (hours == "*" or local.hour in {int(h) for h in hours.split(",")})
            and (day_of_month in ("*", "?") or str(local.day) in day_of_month.split(","))
            and month == "*"
            and (day_of_week in ("*", "?") or weekdays[local.weekday()] in day_of_week.split(","))
            and year == "*"
        )

    moment = after.astimezone(UTC).replace(second=0, microsecond=0, fold=0)
    if moment < after:
        moment += timedelta(minutes=1)
    for _ in range(9 * 24 * 60):
        local = moment.astimezone(zone)
        if local.fold == 0 and matches(local):
            return moment
        moment += timedelta(minutes=1)
    raise AssertionError("no start within 9 days")


@st.composite
def dense_windows(draw: st.DrawFn) -> str:
    """Windows that start within a week, in forms the enumeration reads."""
    minutes = draw(st.one_of(st.just("*"), st.sets(st.integers(0, 59), min_size=1, max_size=3)))
    hours = draw(st.one_of(st.just("*"), st.sets(st.integers(0, 23), min_size=1, max_size=3)))
    days = draw(
        st.one_of(
            st.just("* ?"),
            st.just("? *"),
            st.sets(
                st.sampled_from(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]), min_size=1
            ).map(lambda names: f"? {','.join(sorted(names))}"),
        )
    )
    day_of_month, day_of_week = days.split(" ")

    def spelled(field: str | set[int]) -> str:
        return field if isinstance(field, str) else ",".join(map(str, sorted(field)))

    return f"cron({spelled(minutes)} {spelled(hours)} {day_of_month} * {day_of_week} *)"


AROUND_TRANSITIONS = st.one_of(
    st.datetimes(datetime(2026, 3, 6), datetime(2026, 3, 10)),  # New York's spring-forward
    st.datetimes(datetime(2026, 3, 27), datetime(2026, 3, 31)),  # Paris's
    st.datetimes(datetime(2026, 10, 23), datetime(2026, 10, 27)),  # Paris's fall-back
    st.datetimes(datetime(2026, 10, 30), datetime(2026, 11, 3)),  # New York's
).map(lambda naive: naive.replace(tzinfo=UTC))


@settings(max_examples=60, deadline=None)
@given(dense_windows(), AROUND_TRANSITIONS, st.sampled_from([PARIS, NEW_YORK, UTC]))
def test_next_start_agrees_with_enumerating_every_minute(
    expression: str, after: datetime, zone: tzinfo
) -> None:
    assert next_window_start(window(expression), after, zone) == first_start_by_enumeration(
        expression, after, zone
    )


# --- time zones ----------------------------------------------------------------------------------


@pytest.fixture
def no_tz_data(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A runtime without time zone data: no system database, no tzdata package."""
    monkeypatch.setitem(sys.modules, "tzdata", None)
    zoneinfo.reset_tzpath(to=[])
    ZoneInfo.clear_cache()
    try:
        yield
    finally:
        zoneinfo.reset_tzpath()
        ZoneInfo.clear_cache()


@pytest.mark.usefixtures("no_tz_data")
def test_utc_needs_no_tz_data_and_other_zones_say_they_are_missing() -> None:
    # Given a runtime without tz data
    # When / Then UTC and its aliases here still work
    for name in ("UTC", "Etc/UTC", "GMT"):
        assert zone_named(name) is UTC
    start = next_window_start(window("cron(0 3 * * ? *)"), utc(2026, 6, 1), zone_named("UTC"))
    assert start == utc(2026, 6, 1, 3, 0)
    # and any other zone is an error naming it
    with pytest.raises(WindowError, match="time zone 'Europe/Paris': this runtime has no data"):
        zone_named("Europe/Paris")


def test_zone_named_reads_the_tz_database() -> None:
    assert str(zone_named("Europe/Paris")) == "Europe/Paris"
    assert zone_named("America/New_York").utcoffset(datetime(2026, 1, 1)) == timedelta(hours=-5)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "Europe", "../etc/passwd", "/etc/UTC"])
def test_a_zone_without_data_is_an_error_naming_it(name: str) -> None:
    with pytest.raises(WindowError) as raised:
        zone_named(name)
    assert str(raised.value) == f"time zone {name!r}: this runtime has no data for it"


# --- describe ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "zone", "text"),
    [
        ("immediately", None, "immediately"),
        (" IMMEDIATELY ", "Europe/Paris", "immediately"),
        ("cron(0 22 ? * SAT *)", None, "at the next start of cron(0 22 ? * SAT *)"),
        (
            "cron(0 22 ? * SAT *)",
            "Europe/Paris",
            "at the next start of cron(0 22 ? * SAT *) (Europe/Paris)",
        ),
    ],
)
def test_describe_says_when_production_gets_the_image(
    expression: str, zone: str | None, text: str
) -> None:
    assert describe(expression, zone) == text
