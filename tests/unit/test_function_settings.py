"""A function's settings: one frozen object read from its environment, loudly when incomplete."""

from __future__ import annotations

import dataclasses

import pytest

from image_updater.breaker.settings import BreakerSettings
from image_updater.rollout.settings import WindowSettings
from image_updater.update.settings import CreateSettings, PollSettings


def test_a_settings_object_is_built_once_per_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a create function's environment
    monkeypatch.setenv("NEW_IMAGE_TAGS", '{"Team": "EUC"}')
    monkeypatch.setenv("CONFIGURED_IMAGES", '["ImgA", "ImgB"]')
    monkeypatch.setenv("MAX_CONCURRENT_UPDATES", "2")
    monkeypatch.setenv("KEEP_IMAGES", "3")

    # When it is read twice
    first, again = CreateSettings.from_env(), CreateSettings.from_env()

    # Then the same typed, frozen object
    assert first is again
    assert first == CreateSettings(
        extra_tags={"Team": "EUC"},
        configured_images=("ImgA", "ImgB"),
        max_concurrent_updates=2,
        keep_images=3,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.keep_images = 4  # type: ignore[misc]

    # And another environment (another deployment in the same process) reads anew
    monkeypatch.setenv("KEEP_IMAGES", "0")
    assert CreateSettings.from_env().keep_images == 0


def test_a_missing_variable_fails_at_first_use_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAX_POLLS", raising=False)
    with pytest.raises(KeyError, match="MAX_POLLS"):
        PollSettings.from_env()


def test_the_breaker_needs_its_schedule_only_when_it_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a breaker without a schedule
    monkeypatch.setenv("MAX_UPDATE_HOURS", "12")
    monkeypatch.delenv("SCHEDULE_NAME", raising=False)
    monkeypatch.delenv("SCHEDULE_GROUP", raising=False)

    # When it is off, it reads fine; when it is on, the missing schedule is named
    monkeypatch.setenv("MAX_CONSECUTIVE_FAILED_RUNS", "0")
    assert not BreakerSettings.from_env().enabled
    monkeypatch.setenv("MAX_CONSECUTIVE_FAILED_RUNS", "3")
    with pytest.raises(KeyError, match="SCHEDULE_NAME"):
        BreakerSettings.from_env()
    monkeypatch.setenv("MAX_CONSECUTIVE_FAILED_RUNS", "-1")
    with pytest.raises(ValueError, match="0 or more"):
        BreakerSettings.from_env()


def test_the_variables_a_function_must_be_given() -> None:
    assert BreakerSettings.variables() == (
        "MAX_CONSECUTIVE_FAILED_RUNS",
        "MAX_UPDATE_HOURS",
    )
    assert BreakerSettings.optional_variables() == ("SCHEDULE_NAME", "SCHEDULE_GROUP")
    assert WindowSettings.variables() == ("ROLLOUT_WINDOW", "SCHEDULE_TIMEZONE")
