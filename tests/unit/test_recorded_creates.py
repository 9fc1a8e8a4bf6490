"""When the ledger's record of a create, rather than AppStream's listing, decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from image_updater.update.recorded_creates import UNCONFIRMED_HOLD, RecordedCreate, unconfirmed

NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


def recorded(name: str, ago: timedelta, *, accepted: bool = True) -> RecordedCreate:
    return RecordedCreate(name, "Base", "Base", "run-1", NOW - ago, accepted)


def test_a_recorded_create_the_listing_does_not_show_counts_until_the_hold_ends() -> None:
    # Given creates recorded just now, a minute before the hold ends, and as it ends
    fresh = recorded("Base-1", timedelta(0))
    late = recorded("Base-2", UNCONFIRMED_HOLD - timedelta(minutes=1), accepted=False)
    stale = recorded("Base-3", UNCONFIRMED_HOLD)

    # When / Then the two within the hold are updates in progress, oldest first
    assert unconfirmed([fresh, stale, late], listed=[], now=NOW) == [late, fresh]


def test_a_listed_image_speaks_for_itself() -> None:
    # Given / When / Then
    assert unconfirmed([recorded("Base-1", timedelta(minutes=1))], ["Base-1"], NOW) == []


def test_the_hold_is_15_minutes() -> None:
    assert timedelta(minutes=15) == UNCONFIRMED_HOLD
