"""Patch age: whole days since an image's patches were last brought current. One definition
for the e-mails, the PatchAgeDays metric (and its alarm) and `run-now status`.

- An image the updater built with CreateUpdatedImage: since its CreatedTime. A managed update
  installs the latest updates available when it starts, and it may not move the image's
  PublicBaseImageReleasedDate, which AWS documents for a private image as "the release date
  of the base image from which the image was created".
- Any other image (the configured image itself, before its first update): since its
  PublicBaseImageReleasedDate, the newest patches it can be said to carry.

Unknown (None) when the date it needs is missing.
"""

from __future__ import annotations

from datetime import UTC, datetime

CREATED_BY_UPDATE = "CreatedTime (built by CreateUpdatedImage)"
BASE_IMAGE_RELEASED = "PublicBaseImageReleasedDate"


def patched_at(
    *, built_by_updater: bool, created: datetime | None, base_image_released: datetime | None
) -> datetime | None:
    """When the image's patches were last brought current."""
    return created if built_by_updater else base_image_released


def patch_age_days(
    *,
    built_by_updater: bool,
    created: datetime | None,
    base_image_released: datetime | None,
    now: datetime,
) -> int | None:
    """Whole days from `patched_at` to `now` (never negative: clocks differ by seconds)."""
    moment = patched_at(
        built_by_updater=built_by_updater, created=created, base_image_released=base_image_released
    )
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, (now - moment).days)


def source_of(*, built_by_updater: bool) -> str:
    """Which date the age counts from, for people reading it."""
    return CREATED_BY_UPDATE if built_by_updater else BASE_IMAGE_RELEASED


def parsed(value: str | datetime | None) -> datetime | None:
    """An ISO 8601 time as the workflow's JSON carries it (or a datetime), timezone-aware."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
