"""Each function's settings: the environment variables the CDK stack gives it, read into one
frozen object on first use.

The stack gives a function exactly the variables of the objects its handler reads
(infra/constructs/functions.py; tests/infra/test_function_environment.py checks both ways). A
missing variable fails the first use, loudly (KeyError naming it). An object is built once per
process for the values it was read from: Lambda's environment never changes, so once per cold
start; tests and the offline rehearsal, which run several deployments in one process, get a
new one when the values change.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Self

_VARIABLE = "variable"


@dataclass(frozen=True)
class _Variable:
    name: str
    read: Callable[[str], Any]
    default: str | None = None  # None: the variable must be set


def variable(name: str, read: Callable[[str], Any] = str, *, default: str | None = None) -> Any:
    """A field read from the environment variable `name`, turned into its type by `read`."""
    return dataclasses.field(metadata={_VARIABLE: _Variable(name, read, default)})


def _flag(text: str) -> bool:
    return text == "true"


def _names(text: str) -> tuple[str, ...]:
    return tuple(str(name) for name in json.loads(text))


def _tags(text: str) -> Mapping[str, str]:
    return {str(key): str(value) for key, value in json.loads(text).items()}


class FromEnvironment:
    """A frozen dataclass whose fields are environment variables (declared by `variable`)."""

    @classmethod
    def variables(cls) -> tuple[str, ...]:
        """The variables the function must be given."""
        return tuple(spec.name for _field, spec in _specs(cls) if spec.default is None)

    @classmethod
    def optional_variables(cls) -> tuple[str, ...]:
        """The variables read when given (set by the construct they name, when it exists)."""
        return tuple(spec.name for _field, spec in _specs(cls) if spec.default is not None)

    @classmethod
    def from_env(cls) -> Self:
        raw = tuple(os.environ.get(spec.name) for _field, spec in _specs(cls))
        kind: Any = cls  # a class is hashable; typeshed's type[Self] does not say so
        built: Self = _built(kind, raw)
        return built


def _specs(kind: type[FromEnvironment]) -> tuple[tuple[str, _Variable], ...]:
    return tuple(
        (field.name, field.metadata[_VARIABLE])
        for field in dataclasses.fields(kind)  # type: ignore[arg-type]
    )


@cache
def _built(kind: Any, raw: tuple[str | None, ...]) -> Any:
    values = {}
    for (name, spec), given in zip(_specs(kind), raw, strict=True):
        text = spec.default if given is None else given
        if text is None:
            raise KeyError(spec.name)
        values[name] = spec.read(text)
    return kind(**values)


# --- the update's functions -----------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSettings(FromEnvironment):
    """plan: the lineages a run may update."""

    configured_images: tuple[str, ...] = variable("CONFIGURED_IMAGES", _names)


@dataclass(frozen=True)
class CreateSettings(FromEnvironment):
    """create: the new image's tags, and the limits a start is held to."""

    extra_tags: Mapping[str, str] = variable("NEW_IMAGE_TAGS", _tags)
    configured_images: tuple[str, ...] = variable("CONFIGURED_IMAGES", _names)
    max_concurrent_updates: int = variable("MAX_CONCURRENT_UPDATES", int)
    keep_images: int = variable("KEEP_IMAGES", int)  # a quota refusal explains retention


@dataclass(frozen=True)
class PollSettings(FromEnvironment):
    """poll: status checks of one update before the run stops waiting for it."""

    max_polls: int = variable("MAX_POLLS", int)


@dataclass(frozen=True)
class ReportSettings(FromEnvironment):
    """report and rollout_report: how long an update may take, as the e-mails say."""

    max_update_hours: int = variable("MAX_UPDATE_HOURS", int)


@dataclass(frozen=True)
class RetainSettings(FromEnvironment):
    """retain: images kept per lineage."""

    keep_images: int = variable("KEEP_IMAGES", int)


@dataclass(frozen=True)
class BreakerSettings(FromEnvironment):
    """breaker: the limit, and the schedule it pauses (given only when the limit is on)."""

    max_consecutive_failed_runs: int = variable("MAX_CONSECUTIVE_FAILED_RUNS", int)  # 0: off
    max_update_hours: int = variable("MAX_UPDATE_HOURS", int)  # the pause e-mail's context
    schedule_name: str = variable("SCHEDULE_NAME", default="")
    schedule_group: str = variable("SCHEDULE_GROUP", default="")

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


# --- the roll-out's functions ---------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutPlanSettings(FromEnvironment):
    """rollout_plan: whether production may go without a canary."""

    require_approval: bool = variable("REQUIRE_APPROVAL", _flag)
    allow_untested_production: bool = variable("ALLOW_UNTESTED_PRODUCTION", _flag)


@dataclass(frozen=True)
class HealthSettings(FromEnvironment):
    """rollout_health: the alarms that must be OK after the soak."""

    canary_alarm_names: tuple[str, ...] = variable("CANARY_ALARM_NAMES", _names)


@dataclass(frozen=True)
class WindowSettings(FromEnvironment):
    """rollout_window: when production fleets may change."""

    rollout_window: str = variable("ROLLOUT_WINDOW")  # "immediately" or cron(...), in `timezone`
    timezone: str = variable("SCHEDULE_TIMEZONE")


@dataclass(frozen=True)
class RolloutSettings(FromEnvironment):
    """rollout_report (with ReportSettings): what the roll-out's e-mails tell."""

    canary_soak_hours: int = variable("CANARY_SOAK_HOURS", int)
    canary_alarm_names: tuple[str, ...] = variable("CANARY_ALARM_NAMES", _names)
    require_approval: bool = variable("REQUIRE_APPROVAL", _flag)
    approval_timeout_hours: int = variable("APPROVAL_TIMEOUT_HOURS", int)
    rollout_window: str = variable("ROLLOUT_WINDOW")  # "immediately" or cron(...), in `timezone`
    timezone: str = variable("SCHEDULE_TIMEZONE")
