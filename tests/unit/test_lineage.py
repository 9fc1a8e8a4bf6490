"""Which image of a lineage to update, and whether an update of it is already under way."""

from __future__ import annotations

import pytest

from image_updater.domain.lineage import Lineage
from image_updater.models import ImageSummary


def image(name: str, state: str = "AVAILABLE", created: str | None = None) -> ImageSummary:
    return ImageSummary(
        name=name,
        arn=f"arn:aws:appstream:us-east-1:123456789012:image/{name}",
        state=state,
        created_time=created,
    )


ROOT = image("Base", created="2025-06-01T00:00:00+00:00")


# --- newest available ------------------------------------------------------------------------


def test_the_root_alone_is_the_newest_available() -> None:
    # Given a lineage that was never updated
    lineage = Lineage(root=ROOT, members=())

    # When / Then
    assert lineage.newest_available() == ROOT


def test_the_newest_available_member_wins_over_the_root_and_older_members() -> None:
    # Given two earlier updates, listed out of order
    older = image("Base-20260101-030000", created="2026-01-01T03:00:00+00:00")
    newer = image("Base-20260201-030000", created="2026-02-01T03:00:00+00:00")
    lineage = Lineage(root=ROOT, members=(newer, older))

    # When / Then
    assert lineage.newest_available() == newer


def test_members_that_are_not_available_are_skipped() -> None:
    # Given the newest member failed and another is being deleted
    good = image("Base-20260101-030000", created="2026-01-01T03:00:00+00:00")
    failed = image("Base-20260201-030000", "FAILED", "2026-02-01T03:00:00+00:00")
    deleting = image("Base-20260301-030000", "DELETING", "2026-03-01T03:00:00+00:00")
    lineage = Lineage(root=ROOT, members=(good, failed, deleting))

    # When / Then
    assert lineage.newest_available() == good


def test_a_newer_root_wins_over_older_members() -> None:
    # Given a root that was rebuilt after the last update (same name, newer image)
    root = image("Base", created="2026-03-01T00:00:00+00:00")
    member = image("Base-20260101-030000", created="2026-01-01T03:00:00+00:00")

    # When / Then
    assert Lineage(root=root, members=(member,)).newest_available() == root


def test_creation_times_with_z_and_offsets_are_compared_as_instants() -> None:
    # Given one time written with Z and a later one written in UTC-5 (earlier wall clock)
    zulu = image("Base-20260101-100000", created="2026-01-01T10:00:00Z")
    offset = image("Base-20260101-060000", created="2026-01-01T06:00:00-05:00")  # 11:00 UTC

    # When / Then the later instant wins
    assert Lineage(root=ROOT, members=(zulu, offset)).newest_available() == offset


def test_no_available_image_gives_none() -> None:
    # Given a root that failed and a member still building
    root = image("Base", "FAILED")
    building = image("Base-20260101-030000", "PENDING", "2026-01-01T03:00:00+00:00")

    # When / Then
    assert Lineage(root=root, members=(building,)).newest_available() is None


# --- update in progress ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "state", ["PENDING", "CREATING", "IMPORTING", "VALIDATING", "UPDATING", "SOME_FUTURE_STATE"]
)
def test_a_member_in_an_unsettled_state_is_an_update_in_progress(state: str) -> None:
    # Given a member in a state that is still changing, including states not yet invented
    member = image("Base-20260101-030000", state, "2026-01-01T03:00:00+00:00")

    # When / Then
    assert Lineage(root=ROOT, members=(member,)).update_in_progress() == member


@pytest.mark.parametrize("state", ["AVAILABLE", "FAILED", "DELETING", "COPYING"])
def test_a_member_in_a_settled_state_is_not_in_progress(state: str) -> None:
    # Given
    member = image("Base-20260101-030000", state, "2026-01-01T03:00:00+00:00")

    # When / Then
    assert Lineage(root=ROOT, members=(member,)).update_in_progress() is None


def test_the_newest_of_several_updates_in_progress_is_followed() -> None:
    # Given two members still building
    older = image("Base-20260101-030000", "PENDING", "2026-01-01T03:00:00+00:00")
    newer = image("Base-20260102-030000", "PENDING", "2026-01-02T03:00:00+00:00")

    # When / Then
    assert Lineage(root=ROOT, members=(newer, older)).update_in_progress() == newer


def test_a_root_being_built_is_not_an_update_in_progress() -> None:
    # Given a root that is itself still being created (not the updater's doing)
    root = image("Base", "CREATING")

    # When / Then
    assert Lineage(root=root, members=()).update_in_progress() is None


def test_a_member_without_creation_time_still_counts() -> None:
    # Given a building member whose creation time is unknown
    member = image("Base-20260101-030000", "PENDING", None)

    # When / Then
    assert Lineage(root=ROOT, members=(member,)).update_in_progress() == member


def test_a_member_created_in_the_same_second_as_the_root_wins() -> None:
    # Given a root and the updater's image of it with the same creation time
    root = image("Base", created="2026-01-05T03:00:00+00:00")
    member = image("Base-20260105-030000", created="2026-01-05T03:00:00+00:00")

    # When / Then the updated image, not the root, is the one to update next
    assert Lineage(root=root, members=(member,)).newest_available() == member


def test_the_newest_settled_image_owed_a_report_is_found() -> None:
    # Given two settled members owed a report, one building, and one not owed
    older = image("Base-20260101-030000", "FAILED", "2026-01-01T03:00:00+00:00")
    newer = image("Base-20260102-030000", "AVAILABLE", "2026-01-02T03:00:00+00:00")
    building = image("Base-20260103-030000", "PENDING", "2026-01-03T03:00:00+00:00")
    not_owed = image("Base-20260104-030000", "AVAILABLE", "2026-01-04T03:00:00+00:00")
    lineage = Lineage(root=image("Base"), members=(older, newer, building, not_owed))

    # When / Then
    owed = {older.name, newer.name, building.name}
    assert lineage.newest_settled_of(owed) == newer
    assert lineage.newest_settled_of({building.name}) is None


# --- newer than a roll-out's image --------------------------------------------------------------


def test_a_newer_available_image_supersedes_a_roll_out() -> None:
    # Given the image rolled out, and a newer AVAILABLE one of its lineage (and one being built)
    rolled = image("Base-20260101-030000", created="2026-01-01T03:00:00+00:00")
    newer = image("Base-20260201-030000", created="2026-02-01T03:00:00+00:00")
    building = image("Base-20260301-030000", "PENDING", created="2026-03-01T03:00:00+00:00")
    lineage = Lineage(root=None, members=(rolled, building, newer))

    # When / Then the newest AVAILABLE one is named, never the one still being built
    assert lineage.newer_than(rolled) == newer.name


@pytest.mark.parametrize(
    "newest_created",
    ["2026-01-01T03:00:00+00:00", "2025-12-01T03:00:00+00:00"],
    ids=["same time", "older"],
)
def test_nothing_supersedes_a_roll_out_of_the_newest_image(newest_created: str) -> None:
    # Given the image rolled out is the lineage's newest AVAILABLE one, or another one is no
    # newer than it
    rolled = image("Base-20260101-030000", created="2026-01-01T03:00:00+00:00")
    other = image("Base-20251201-030000", created=newest_created)

    # When / Then
    assert Lineage(root=None, members=(rolled,)).newer_than(rolled) is None
    assert Lineage(root=None, members=(other,)).newer_than(rolled) is None
    assert Lineage(root=None, members=()).newer_than(rolled) is None
    # nor is the image itself, however its creation time was read
    assert (
        Lineage(root=None, members=(rolled,)).newer_than(rolled._replace(created_time=None)) is None
    )
