"""Cron expressions that never fire are refused at synth (infra/firing.py): key, value and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra.config import ConfigError, load_app_config
from infra.firing import never_firing_problems, next_firing

NOW = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)


def _problems(schedule: str = "rate(1 day)", window: str = "immediately") -> list[str]:
    return list(never_firing_problems(schedule, window, "Europe/Paris", NOW))


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("cron(0 3 30 2 ? *)", "(February 30, for example, never comes)"),
        ("cron(0 3 31 4 ? *)", "(February 30, for example, never comes)"),
        ("cron(0 22 ? * SAT 2020)", "its year field selects only past years (2020)"),
        ("cron(0 3 L-30 2 ? *)", "never comes"),  # 30 days before February's last
        ("cron(0 3 31W 4 ? *)", "never comes"),  # the weekday nearest April 31
        ("cron(0 3 1 1 ? 2026)", "no date within 5 years of 2026-12-02 in its years"),
        # Sunday 29 February 2032 is the first fifth Sunday of a February: past the horizon
        ("cron(0 3 ? 2 SUN#5 *)", "no date within 5 years of 2026-12-02 matches"),
    ],
)
def test_a_schedule_that_never_fires_is_refused_naming_key_value_and_why(
    expression: str, why: str
) -> None:
    # Given / When the schedule is checked on 2026-12-02
    (problem,) = _problems(schedule=expression)
    # Then it names the key, the value and why
    assert problem.startswith(f"scheduleExpression: {expression!r} never fires: ")
    assert why in problem


@pytest.mark.parametrize(
    "expression", ["cron(0 22 30 2 ? *)", "cron(0 22 ? * SAT 2020)", "cron(0 22 ? JAN MON 2026)"]
)
def test_a_rollout_window_that_never_opens_is_refused(expression: str) -> None:
    (problem,) = _problems(window=expression)
    assert problem.startswith(f"rolloutWindow: {expression!r} never fires: ")


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 hour)",
        "cron(0 3 29 2 ? *)",  # leap years only: 2028
        "cron(0 3 L 2 ? *)",
        "cron(0 3 LW * ? *)",
        "cron(0 3 15W * ? *)",
        "cron(0 3 ? * 6L *)",
        "cron(0 3 ? * MON#5 *)",
        "cron(0 22 ? * SAT 2027)",
        "cron(30 23 2 12 ? 2026)",  # later today in Paris
    ],
)
def test_schedules_that_fire_within_five_years_pass(expression: str) -> None:
    assert _problems(schedule=expression) == []


@pytest.mark.parametrize(
    "expression", ["immediately", "cron(0 3 29 2 ? *)", "cron(0 22 ? * SAT 2027)"]
)
def test_windows_that_open_within_five_years_pass(expression: str) -> None:
    assert _problems(window=expression) == []


def test_the_app_refuses_both_together_naming_each_key() -> None:
    # Given a schedule on February 30 and a window in 2020
    context = {
        "scheduleExpression": "cron(0 3 30 2 ? *)",
        "rolloutWindow": "cron(0 22 ? * SAT 2020)",
    }
    # When the app's configuration is loaded / Then both are refused in one error
    with pytest.raises(ConfigError) as raised:
        load_app_config(context, now=NOW)
    assert [problem.split(":")[0] for problem in raised.value.problems] == [
        "scheduleExpression",
        "rolloutWindow",
    ]


@pytest.mark.parametrize(
    ("expression", "fires"),
    [
        ("cron(0 3 1W 5 ? 2027)", "2027-05-03"),  # 1 May is a Saturday: the Monday after
        ("cron(0 3 15W 8 ? 2027)", "2027-08-16"),  # 15 August a Sunday: the Monday after
        ("cron(0 3 30W 1 ? 2027)", "2027-01-29"),  # 30 January a Saturday: the Friday before
        ("cron(0 3 31W 1 ? 2027)", "2027-01-29"),  # the 31st a Sunday and the last: Friday
        ("cron(0 3 LW 1 ? 2027)", "2027-01-29"),
        ("cron(0 3 L 2 ? 2028)", "2028-02-29"),
        ("cron(0 3 L-3 2 ? 2027)", "2027-02-25"),
        ("cron(0 3 ? 3 6L 2027)", "2027-03-26"),  # the last Friday of March
        ("cron(0 3 ? 3 FRI#2 2027)", "2027-03-12"),
        ("cron(0 3 ? 3 L 2027)", "2027-03-06"),  # L alone: Saturday
    ],
)
def test_the_schedules_l_w_and_hash_forms_fire_on_eventbridges_days(
    expression: str, fires: str
) -> None:
    # Given / When the next firing after 2026-12-02 is computed in UTC
    found = next_firing(expression, "UTC", NOW)
    # Then it is the day EventBridge Scheduler's documentation gives the form
    assert found is not None and found.date().isoformat() == fires
