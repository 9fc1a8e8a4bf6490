"""The roll-out's functions' settings (see `image_updater.settings`)."""

from __future__ import annotations

from image_updater.settings import FromEnvironment, flag, names, variable


class RolloutPlanSettings(FromEnvironment):
    """rollout_plan: whether production may go without a canary."""

    require_approval: bool = variable("REQUIRE_APPROVAL", flag)
    allow_untested_production: bool = variable("ALLOW_UNTESTED_PRODUCTION", flag)


class HealthSettings(FromEnvironment):
    """rollout_health: the alarms that must be OK after the soak."""

    canary_alarm_names: tuple[str, ...] = variable("CANARY_ALARM_NAMES", names)


class WindowSettings(FromEnvironment):
    """rollout_window: when production fleets may change."""

    rollout_window: str = variable("ROLLOUT_WINDOW")  # "immediately" or cron(...), in `timezone`
    timezone: str = variable("SCHEDULE_TIMEZONE")
    # The stack the e-mailed run-now commands name (`--stack`): set by a spoke, whose stack
    # is not run-now's default.
    run_now_stack: str = variable("RUN_NOW_STACK", when_unset="")


class RolloutSettings(FromEnvironment):
    """rollout_report (with the update's ReportSettings): what the roll-out's e-mails tell."""

    canary_soak_hours: int = variable("CANARY_SOAK_HOURS", int)
    canary_alarm_names: tuple[str, ...] = variable("CANARY_ALARM_NAMES", names)
    require_approval: bool = variable("REQUIRE_APPROVAL", flag)
    approval_timeout_hours: int = variable("APPROVAL_TIMEOUT_HOURS", int)
    rollout_window: str = variable("ROLLOUT_WINDOW")  # "immediately" or cron(...), in `timezone`
    timezone: str = variable("SCHEDULE_TIMEZONE")
    # The stack the e-mailed run-now commands name (`--stack`): set by a spoke, whose stack
    # is not run-now's default.
    run_now_stack: str = variable("RUN_NOW_STACK", when_unset="")
