"""The breaker function's settings (see `image_updater.settings`)."""

from __future__ import annotations

from image_updater.settings import FromEnvironment, variable


class BreakerSettings(FromEnvironment):
    """breaker: the limit, and the schedule it pauses (given only when the limit is on)."""

    max_consecutive_failed_runs: int = variable("MAX_CONSECUTIVE_FAILED_RUNS", int)  # 0: off
    max_update_hours: int = variable("MAX_UPDATE_HOURS", int)  # the pause e-mail's context
    schedule_name: str = variable("SCHEDULE_NAME", when_unset="")
    schedule_group: str = variable("SCHEDULE_GROUP", when_unset="")

    def __post_init__(self) -> None:
        limit = self.max_consecutive_failed_runs
        if limit < 0:
            raise ValueError(f"MAX_CONSECUTIVE_FAILED_RUNS must be 0 or more, got {limit}")
        if limit and not self.schedule_name:
            raise KeyError("SCHEDULE_NAME")
        if limit and not self.schedule_group:
            raise KeyError("SCHEDULE_GROUP")

    @property
    def enabled(self) -> bool:
        return self.max_consecutive_failed_runs > 0
