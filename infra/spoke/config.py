"""The settings that mean nothing in a spoke: refused at synth when set away from their
default, so nobody believes a spoke builds, keeps, copies or shares images."""

from __future__ import annotations

from collections.abc import Mapping

from infra.config import KEYS, SETTINGS, ConfigError, UpdaterConfig

# What only the hub does: build images (the update's keys), keep them (retention), count
# failed builds (the breaker), copy and share them (distribution).
HUB_ONLY_KEYS = (
    "pollIntervalMinutes",
    "maxUpdateHours",
    "maxConcurrentUpdates",
    "notifyNoUpdate",
    "newImageTags",
    "keepImages",
    "maxConsecutiveFailedRuns",
    "copyToRegions",
    "shareWithAccounts",
)


def _as_declared(value: object) -> object:
    """A value as the settings table holds its default (lists and objects as JSON has them)."""
    if isinstance(value, tuple):
        return [_as_declared(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _as_declared(item) for key, item in value.items()}
    return value


def spoke_problems(config: UpdaterConfig) -> list[str]:
    """One line per hub-only key set in a spoke's configuration."""
    defaults = {row.key: row.default for row in SETTINGS}
    problems = []
    for key in HUB_ONLY_KEYS:
        value = _as_declared(getattr(config, KEYS[key]))
        if value != defaults[key]:
            problems.append(
                f"{key}: {value!r} does nothing in a spoke (hubAccountId is set: the hub "
                f"builds, keeps, copies and shares the images); remove it or set it back to "
                f"{defaults[key]!r}"
            )
    return problems


def refuse_hub_only_keys(config: UpdaterConfig) -> None:
    problems = spoke_problems(config)
    if problems:
        raise ConfigError(problems)
