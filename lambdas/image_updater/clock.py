"""The current time, in one place, so the offline rehearsal can run on simulated time."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
