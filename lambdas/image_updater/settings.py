"""Deployment settings, passed by the CDK stack as environment variables and read on use."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass


def configured_images() -> list[str]:
    return list(json.loads(os.environ["CONFIGURED_IMAGES"]))


def new_image_tags() -> dict[str, str]:
    return dict(json.loads(os.environ.get("NEW_IMAGE_TAGS", "{}")))


def max_polls() -> int:
    return int(os.environ["MAX_POLLS"])


def max_update_hours() -> int:
    return int(os.environ["MAX_UPDATE_HOURS"])


def max_concurrent_updates() -> int:
    return int(os.environ["MAX_CONCURRENT_UPDATES"])


def keep_images() -> int:
    return int(os.environ["KEEP_IMAGES"])


@dataclass(frozen=True)
class BreakerSettings:
    """The breaker function's settings, read and checked together (a missing one fails
    the step, which the workflow catches)."""

    max_consecutive_failed_runs: int  # 0: the breaker is off
    schedule_name: str = ""
    schedule_group: str = ""

    @property
    def enabled(self) -> bool:
        return self.max_consecutive_failed_runs > 0

    @classmethod
    def from_env(cls) -> BreakerSettings:
        limit = int(os.environ["MAX_CONSECUTIVE_FAILED_RUNS"])
        if limit < 0:
            raise ValueError(f"MAX_CONSECUTIVE_FAILED_RUNS must be 0 or more, got {limit}")
        if limit == 0:  # off: the function is given neither the schedule nor the ledger
            return cls(limit)
        return cls(limit, os.environ["SCHEDULE_NAME"], os.environ["SCHEDULE_GROUP"])


@dataclass(frozen=True)
class RolloutSettings:
    """The roll-out's settings (the roll-out's functions only)."""

    canary_soak_hours: int
    canary_alarm_names: tuple[str, ...]
    require_approval: bool
    approval_timeout_hours: int
    rollout_window: str  # "immediately" or cron(...), in `timezone`
    timezone: str
    allow_untested_production: bool = False  # production may go first without any canary

    @classmethod
    def from_env(cls) -> RolloutSettings:
        return cls(
            canary_soak_hours=int(os.environ["CANARY_SOAK_HOURS"]),
            canary_alarm_names=tuple(json.loads(os.environ["CANARY_ALARM_NAMES"])),
            require_approval=os.environ["REQUIRE_APPROVAL"] == "true",
            approval_timeout_hours=int(os.environ["APPROVAL_TIMEOUT_HOURS"]),
            rollout_window=os.environ["ROLLOUT_WINDOW"],
            timezone=os.environ["SCHEDULE_TIMEZONE"],
            allow_untested_production=os.environ["ALLOW_UNTESTED_PRODUCTION"] == "true",
        )
