"""Patch age: one definition (domain/patch_age.py) for the metric, the e-mails and status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from image_updater.domain.patch_age import parsed, patch_age_days, patched_at

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
CREATED = NOW - timedelta(days=3, hours=5)
RELEASED = NOW - timedelta(days=41, hours=1)


def test_an_image_the_updater_built_is_as_old_as_its_update() -> None:
    # the managed update installed what was available when it ran; the base image's release
    # date, which it may leave where it was, says nothing about that
    assert patched_at(built_by_updater=True, created=CREATED, base_image_released=RELEASED) == (
        CREATED
    )
    assert (
        patch_age_days(
            built_by_updater=True, created=CREATED, base_image_released=RELEASED, now=NOW
        )
        == 3
    )


def test_any_other_image_is_as_old_as_its_base_image_release() -> None:
    assert (
        patch_age_days(
            built_by_updater=False, created=CREATED, base_image_released=RELEASED, now=NOW
        )
        == 41
    )


def test_whole_days_never_negative_and_unknown_without_the_date() -> None:
    just_before = NOW - timedelta(days=7) + timedelta(seconds=1)
    assert (
        patch_age_days(
            built_by_updater=True, created=just_before, base_image_released=None, now=NOW
        )
        == 6
    )
    # a clock a few seconds ahead of ours: 0, not -1
    ahead = NOW + timedelta(seconds=5)
    assert (
        patch_age_days(built_by_updater=True, created=ahead, base_image_released=None, now=NOW) == 0
    )
    assert (
        patch_age_days(built_by_updater=False, created=CREATED, base_image_released=None, now=NOW)
        is None
    )
    assert (
        patch_age_days(built_by_updater=True, created=None, base_image_released=RELEASED, now=NOW)
        is None
    )


def test_times_as_the_workflow_carries_them() -> None:
    assert parsed("2026-12-01T03:00:00Z") == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert parsed("2026-12-01T03:00:00+00:00") == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert parsed(None) is None
    assert parsed(NOW) is NOW
