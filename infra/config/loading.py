"""Loading the configuration: the context's raw values through the declaration's rules.

Every problem is reported at once, one line each, in the order of the keys: the keys' own rules
first, then (only when each key passes) the rules across keys, then, for a whole app's context,
unknown keys first and cron expressions that never fire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from infra import approvers
from infra.config import context as cdk_context
from infra.config.declaration import UpdaterConfig
from infra.config.rules import PROBLEMS
from infra.config.table import KEYS
from infra.firing import never_firing_problems

_VALIDATOR = TypeAdapter(UpdaterConfig)


class ConfigError(ValueError):
    """Every problem found in the configuration, one line each, in the order of KEYS."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


def load_config(context: Mapping[str, Any] | Callable[[str], Any]) -> UpdaterConfig:
    """Parse and check the configuration; `context` is a mapping or `app.node.try_get_context`.

    Keys the context lacks (None) take their value from cdk.json, then the declaration's
    default. Raises ConfigError listing every problem, so one synth shows all of them.
    """
    lookup = context.get if isinstance(context, Mapping) else context
    in_cdk_json = cdk_context.cdk_json_context()
    raw: dict[str, Any] = {}
    for key in KEYS:
        value = lookup(key)
        if value is None:
            value = in_cdk_json.get(key)
        if value is not None:
            raw[key] = value
    try:
        return _VALIDATOR.validate_python(raw)
    except ValidationError as error:
        raise ConfigError(_problem_lines(error)) from None


def _problem_lines(error: ValidationError) -> Iterator[str]:
    """The declaration's problems as lines: "<key>: <problem>" (a cross-key rule names its
    keys itself). Pydantic's own messages are never shown."""
    for found in error.errors():
        key = ".".join(map(str, found["loc"]))
        if found["type"] == "missing":
            yield f"{key}: missing (set it in cdk.json or with -c {key}=...)"
        elif found["type"] == PROBLEMS:
            problems: tuple[str, ...] = found["ctx"]["problems"]
            yield from (f"{key}: {problem}" if key else problem for problem in problems)
        else:  # every rule raises PROBLEMS: anything else is a defect of the declaration
            raise TypeError(f"{key}: no rule of the declaration reported {found['type']}")


def load_app_config(context: Mapping[str, Any], now: datetime | None = None) -> UpdaterConfig:
    """`load_config` for an app's whole context (`app.node.get_all_context()`).

    Also refuses unknown keys; their problems come first, then the values' (one synth shows all).
    And cron expressions that no longer fire (infra/firing.py): that depends on the day the
    synth runs (`now`), so it is checked here rather than among load_config's timeless rules.
    """
    unknown = cdk_context.unknown_key_problems(context)
    try:
        config = load_config(context)
    except ConfigError as error:
        raise ConfigError([*unknown, *error.problems]) from None
    never = list(
        never_firing_problems(
            config.schedule_expression, config.rollout_window, config.schedule_timezone, now
        )
    )
    if unknown or never:
        raise ConfigError([*unknown, *never])
    return config


def config_warnings(config: UpdaterConfig) -> dict[str, str]:
    """Valid settings that are probably a mistake: warning id -> message, for the synth to show."""
    warnings: dict[str, str] = {}
    if not config.notification_emails:
        warnings["AppStreamImageUpdater:notificationEmailsEmpty"] = (
            "notificationEmails is empty: no one is subscribed to the notification topic, so "
            "nobody learns of new images or failed updates. Add an address with "
            "-c notificationEmails=a@example.com or in cdk.json's context, then confirm the "
            "subscription from the e-mail SNS sends: nothing is delivered until it is confirmed."
        )
    warnings.update(approvers.approval_warnings(config))
    return warnings
