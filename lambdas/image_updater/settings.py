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

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError
from functools import cache
from typing import Any, ClassVar, NamedTuple, Self, dataclass_transform


class _Variable(NamedTuple):
    name: str
    read: Callable[[str], Any]
    when_unset: str | None = None  # None: the variable must be set


def variable(name: str, read: Callable[[str], Any] = str, *, when_unset: str | None = None) -> Any:
    """A field read from the environment variable `name`, turned into its type by `read`."""
    return _Variable(name, read, when_unset)


def _flag(text: str) -> bool:
    return text == "true"


def _names(text: str) -> tuple[str, ...]:
    return tuple(str(name) for name in json.loads(text))


def _tags(text: str) -> Mapping[str, str]:
    return {str(key): str(value) for key, value in json.loads(text).items()}


# Not @dataclass: each frozen dataclass costs about half a millisecond to create on Python 3.11
# (its methods are compiled one by one), and every function's cold start would pay for all of
# them. This base gives the same frozen, comparable, keyword-or-positional objects (and tells
# type checkers so) by reading the fields once when a class is defined.
@dataclass_transform(frozen_default=True, field_specifiers=(variable,))
class FromEnvironment:
    """A frozen object whose fields are environment variables (declared by `variable`)."""

    _fields: ClassVar[tuple[tuple[str, _Variable], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._fields = tuple(
            (name, spec) for name, spec in vars(cls).items() if isinstance(spec, _Variable)
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = [name for name, _spec in self._fields]
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} values, got {len(args)}")
        values = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name not in names or name in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated {name!r}")
            values[name] = value
        for name, spec in self._fields:  # an optional variable not given: as if unset
            if name not in values and spec.when_unset is not None:
                values[name] = spec.read(spec.when_unset)
        missing = [name for name in names if name not in values]
        if missing:
            raise TypeError(f"{type(self).__name__} needs {', '.join(missing)}")
        for name in names:
            object.__setattr__(self, name, values[name])
        self.__post_init__()

    def __post_init__(self) -> None:
        """Checks across fields, in subclasses."""

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name, _spec in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), *(_hashable(value) for value in self._values())))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name, _spec in self._fields)
        return f"{type(self).__name__}({fields})"

    @classmethod
    def variables(cls) -> tuple[str, ...]:
        """The variables the function must be given."""
        return tuple(spec.name for _field, spec in cls._fields if spec.when_unset is None)

    @classmethod
    def optional_variables(cls) -> tuple[str, ...]:
        """The variables read when given (set by the construct they name, when it exists)."""
        return tuple(spec.name for _field, spec in cls._fields if spec.when_unset is not None)

    @classmethod
    def from_env(cls) -> Self:
        raw = tuple(os.environ.get(spec.name) for _field, spec in cls._fields)
        kind: Any = cls  # a class is hashable; typeshed's type[Self] does not say so
        built: Self = _built(kind, raw)
        return built


def _hashable(value: Any) -> Any:
    return tuple(sorted(value.items())) if isinstance(value, Mapping) else value


@cache
def _built(kind: Any, raw: tuple[str | None, ...]) -> Any:
    values = {}
    for (name, spec), given in zip(kind._fields, raw, strict=True):
        text = spec.when_unset if given is None else given
        if text is None:
            raise KeyError(spec.name)
        values[name] = spec.read(text)
    return kind(**values)


# --- the update's functions -----------------------------------------------------------------------


class PlanSettings(FromEnvironment):
    """plan: the lineages a run may update."""

    configured_images: tuple[str, ...] = variable("CONFIGURED_IMAGES", _names)


class CreateSettings(FromEnvironment):
    """create: the new image's tags, and the limits a start is held to."""

    extra_tags: Mapping[str, str] = variable("NEW_IMAGE_TAGS", _tags)
    configured_images: tuple[str, ...] = variable("CONFIGURED_IMAGES", _names)
    max_concurrent_updates: int = variable("MAX_CONCURRENT_UPDATES", int)
    keep_images: int = variable("KEEP_IMAGES", int)  # a quota refusal explains retention


class PollSettings(FromEnvironment):
    """poll: status checks of one update before the run stops waiting for it."""

    max_polls: int = variable("MAX_POLLS", int)


class ReportSettings(FromEnvironment):
    """report and rollout_report: how long an update may take, as the e-mails say; and where
    a ready image goes next (given to report only when copyToRegions or shareWithAccounts is
    set: infra/constructs/functions.py)."""

    max_update_hours: int = variable("MAX_UPDATE_HOURS", int)
    distribution: str = variable("DISTRIBUTION", when_unset="")


class RetainSettings(FromEnvironment):
    """retain: images kept per lineage."""

    keep_images: int = variable("KEEP_IMAGES", int)


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


# --- the roll-out's functions ---------------------------------------------------------------------


class RolloutPlanSettings(FromEnvironment):
    """rollout_plan: whether production may go without a canary."""

    require_approval: bool = variable("REQUIRE_APPROVAL", _flag)
    allow_untested_production: bool = variable("ALLOW_UNTESTED_PRODUCTION", _flag)


class HealthSettings(FromEnvironment):
    """rollout_health: the alarms that must be OK after the soak."""

    canary_alarm_names: tuple[str, ...] = variable("CANARY_ALARM_NAMES", _names)


class WindowSettings(FromEnvironment):
    """rollout_window: when production fleets may change."""

    rollout_window: str = variable("ROLLOUT_WINDOW")  # "immediately" or cron(...), in `timezone`
    timezone: str = variable("SCHEDULE_TIMEZONE")
    # The stack the e-mailed run-now commands name (`--stack`): set by a spoke, whose stack
    # is not run-now's default.
    run_now_stack: str = variable("RUN_NOW_STACK", when_unset="")


class RolloutSettings(FromEnvironment):
    """rollout_report (with ReportSettings): what the roll-out's e-mails tell."""

    canary_soak_hours: int = variable("CANARY_SOAK_HOURS", int)
    canary_alarm_names: tuple[str, ...] = variable("CANARY_ALARM_NAMES", _names)
    require_approval: bool = variable("REQUIRE_APPROVAL", _flag)
    approval_timeout_hours: int = variable("APPROVAL_TIMEOUT_HOURS", int)
    rollout_window: str = variable("ROLLOUT_WINDOW")  # "immediately" or cron(...), in `timezone`
    timezone: str = variable("SCHEDULE_TIMEZONE")
    # The stack the e-mailed run-now commands name (`--stack`): set by a spoke, whose stack
    # is not run-now's default.
    run_now_stack: str = variable("RUN_NOW_STACK", when_unset="")


class SpokeSettings(FromEnvironment):
    """A spoke's discover, and its roll-out steps that look at images: whose images count."""

    hub_account_id: str = variable("HUB_ACCOUNT_ID")
    configured_images: tuple[str, ...] = variable("CONFIGURED_IMAGES", _names)


# --- the distribution's functions -----------------------------------------------------------------


class DistributeSettings(FromEnvironment):
    """distribute: the configured tags each copy gets again (CopyImage copies none)."""

    new_image_tags: Mapping[str, str] = variable("NEW_IMAGE_TAGS", _tags)
