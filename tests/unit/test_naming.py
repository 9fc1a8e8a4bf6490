"""AppStream's naming and tagging rules, and the names the updater derives from a root."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from image_updater.domain import naming

STARTED = datetime(2026, 1, 5, 3, 4, 5, tzinfo=UTC)
LONGEST_ROOT = "R" + "x" * 100  # 101 characters, the longest name AppStream accepts

valid_roots = st.from_regex(naming.IMAGE_NAME_PATTERN, fullmatch=True).filter(
    lambda name: naming.image_name_problem(name) is None
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(9999, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-11)), timezone(timedelta(hours=14))]),
)


# --- derived image names ---------------------------------------------------------------------


def test_derived_name_is_the_root_and_the_utc_start_time() -> None:
    # Given a run that started at 03:04:05 UTC, expressed in UTC+2
    started = STARTED.astimezone(timezone(timedelta(hours=2)))

    # When the new image's name is derived
    name = naming.derived_image_name("SalesApps", started)

    # Then it is the root plus the UTC date and time
    assert name == "SalesApps-20260105-030405"


def test_a_derived_name_derived_again_from_the_root_does_not_grow() -> None:
    # Given the name of a first update
    first = naming.derived_image_name("SalesApps", STARTED)

    # When a later run derives the next name (always from the root)
    second = naming.derived_image_name("SalesApps", STARTED + timedelta(days=30))

    # Then both names have the same length and the same lineage prefix
    assert len(second) == len(first)
    assert second.startswith(naming.lineage_prefix("SalesApps"))
    assert second != first


def test_a_long_root_is_truncated_so_the_derived_name_fits() -> None:
    # Given a root of the maximum length
    # When a name is derived from it
    name = naming.derived_image_name(LONGEST_ROOT, STARTED)

    # Then it is exactly 101 characters: the root's first 85, a dash, the timestamp
    assert len(name) == naming.IMAGE_NAME_MAX
    assert name == LONGEST_ROOT[: naming.ROOT_PREFIX_MAX] + "-20260105-030405"
    assert naming.image_name_problem(name) is None


@given(root=valid_roots, started=moments)
def test_any_valid_root_gives_a_valid_derived_name(root: str, started: datetime) -> None:
    # Given any root AppStream accepts and any start time
    # When the new name is derived
    name = naming.derived_image_name(root, started)

    # Then AppStream accepts it too, it is recognised as derived, and it never exceeds 101
    assert len(name) <= naming.IMAGE_NAME_MAX
    assert naming.IMAGE_NAME_PATTERN.fullmatch(name)
    assert naming.image_name_problem(name) is None
    assert naming.is_derived_name(root, name)


@given(root=valid_roots, first=moments, later=moments)
def test_derived_names_of_one_root_all_have_the_same_length(
    root: str, first: datetime, later: datetime
) -> None:
    # Given two runs of the same lineage, at any times
    # When each derives its name from the root
    names = {naming.derived_image_name(root, first), naming.derived_image_name(root, later)}

    # Then names do not grow from one run to the next
    assert len({len(name) for name in names}) == 1


@pytest.mark.parametrize(
    "name",
    [
        "SalesApps-20260105-030405",
        "SalesApps-99991231-235959",
    ],
)
def test_is_derived_name_accepts_the_root_a_dash_and_a_timestamp(name: str) -> None:
    # Given / When / Then
    assert naming.is_derived_name("SalesApps", name)


@pytest.mark.parametrize(
    "name",
    [
        "SalesApps",  # the root itself
        "SalesApps-",  # no timestamp
        "SalesApps-20260105",  # date only
        "SalesApps-20260105-0304",  # time too short
        "SalesApps-20260105-030405-1",  # something appended
        "SalesApps-20260105-030405-20260106-000000",  # derived from a derived name
        "SalesApps2-20260105-030405",  # another root that shares the start
        "SalesApps_20260105-030405",  # not a dash
        "salesapps-20260105-030405",  # case matters
        "SalesApps-2026010a-030405",  # not digits
    ],
)
def test_is_derived_name_rejects_lookalikes(name: str) -> None:
    # Given / When / Then
    assert not naming.is_derived_name("SalesApps", name)


def test_is_derived_name_uses_the_truncated_prefix_of_a_long_root() -> None:
    # Given a long root, and a derived name of it
    derived = naming.derived_image_name(LONGEST_ROOT, STARTED)

    # When / Then the derived name belongs to it, and the full root plus a suffix does not
    assert naming.is_derived_name(LONGEST_ROOT, derived)
    assert not naming.is_derived_name(LONGEST_ROOT, LONGEST_ROOT + "-20260105-030405")


# --- image names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["A", "a1", "9Lives", "Sales_Apps.v2-1", LONGEST_ROOT])
def test_acceptable_image_names(name: str) -> None:
    # Given / When / Then
    assert naming.image_name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    ["", "-leading", "_leading", ".leading", "has space", "ümlaut", "slash/no", LONGEST_ROOT + "x"],
)
def test_image_names_that_break_the_pattern(name: str) -> None:
    # Given / When
    problem = naming.image_name_problem(name)

    # Then the problem states the rule
    assert problem is not None
    assert "1 to 101 characters" in problem


@pytest.mark.parametrize("prefix", ["Amazon", "AWS", "AppStream"])
def test_reserved_prefixes_are_refused(prefix: str) -> None:
    # Given a name that starts with a prefix AWS reserves
    # When
    problem = naming.image_name_problem(prefix + "Base")

    # Then the problem names the prefix
    assert problem is not None
    assert repr(prefix) in problem


@pytest.mark.parametrize("name", ["Amazo", "AW", "Appstream", "MyAmazon", "aws-base"])
def test_names_that_only_resemble_reserved_prefixes_are_accepted(name: str) -> None:
    # Given / When / Then (the reserved prefixes are case-sensitive)
    assert naming.image_name_problem(name) is None


# --- description and display name ------------------------------------------------------------


def test_description_names_the_source_and_the_day() -> None:
    # Given / When
    description = naming.new_image_description("SalesApps-20260101-000000", STARTED)

    # Then
    assert description.startswith("SalesApps-20260101-000000 with the latest")
    assert "2026-01-05" in description
    assert len(description) <= naming.DESCRIPTION_MAX


@given(source=valid_roots, started=moments)
def test_description_never_exceeds_the_limit(source: str, started: datetime) -> None:
    # Given / When / Then
    assert len(naming.new_image_description(source, started)) <= naming.DESCRIPTION_MAX


def test_display_name_is_the_root_and_the_day() -> None:
    # Given / When / Then
    assert naming.new_image_display_name("SalesApps", STARTED) == "SalesApps (updated 2026-01-05)"


def test_display_name_of_a_long_root_is_truncated_to_the_limit() -> None:
    # Given the longest root
    # When
    display_name = naming.new_image_display_name(LONGEST_ROOT, STARTED)

    # Then it is exactly 100 characters and still ends with the day
    assert len(display_name) == naming.DISPLAY_NAME_MAX
    assert display_name.endswith(" (updated 2026-01-05)")


def test_display_name_uses_the_utc_day() -> None:
    # Given 23:30 on the 4th in UTC-5, which is the 5th in UTC
    started = datetime(2026, 1, 4, 23, 30, tzinfo=timezone(timedelta(hours=-5)))

    # When / Then
    assert naming.new_image_display_name("X", started) == "X (updated 2026-01-05)"


# --- tags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("team", "euc"),
        ("Cost Center", "EUC-42"),
        ("k", ""),  # empty values are allowed
        ("équipe", "Ünïcode ünd 日本語"),
        ("a_.:/=+-@b", "_.:/=+-@"),
        ("k" * 128, "v" * 256),
        ("awsome", "x"),  # only the 'aws:' prefix is reserved
        ("$k", "v"),  # AppStream's TagKey pattern lets the first character be anything
        ("#team", "v"),
    ],
)
def test_acceptable_tags(key: str, value: str) -> None:
    # Given / When / Then
    assert naming.tag_problem(key, value) is None


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("", "v", "1 to 128 characters"),
        ("k" * 129, "v", "1 to 128 characters"),
        ("aws:team", "v", "must not start with 'aws:'"),
        ("AWS:team", "v", "must not start with 'aws:'"),
        ("team!", "v", "tag key 'team!' may contain, after its first character, only"),
        ("te#am", "v", "after its first character, only"),
        ("k", "v" * 257, "at most 256 characters"),
        ("k", "semi;colon", "tag value of 'k' may contain only"),
        ("k", "tab\there", "may contain only"),
        (naming.LINEAGE_ROOT_TAG, "SalesApps", "is reserved"),
        (naming.SOURCE_IMAGE_TAG, "SalesApps", "is reserved"),
        ("AppStreamImageUpdater:Owner", "me", "is reserved"),
        ("appstreamimageupdater:lineageroot", "x", "is reserved"),
    ],
)
def test_tags_appstream_refuses(key: str, value: str, expected: str) -> None:
    # Given / When
    problem = naming.tag_problem(key, value)

    # Then the problem says which rule
    assert problem is not None
    assert expected in problem


def test_new_image_tags_add_the_lineage_tags_to_the_configured_ones() -> None:
    # Given configured tags
    extra = {"team": "euc"}

    # When
    tags = naming.new_image_tags(extra, "SalesApps", "SalesApps-20260101-000000")

    # Then both are there, and the input is not modified
    assert tags == {
        "team": "euc",
        naming.LINEAGE_ROOT_TAG: "SalesApps",
        naming.SOURCE_IMAGE_TAG: "SalesApps-20260101-000000",
    }
    assert extra == {"team": "euc"}


def test_lineage_tags_win_over_configured_tags_with_the_same_key() -> None:
    # Given configured tags that (wrongly) use a reserved key
    extra = {naming.LINEAGE_ROOT_TAG: "Someone else"}

    # When / Then the lineage stays recognisable
    tags = naming.new_image_tags(extra, "SalesApps", "SalesApps")
    assert tags[naming.LINEAGE_ROOT_TAG] == "SalesApps"


@given(root=valid_roots)
def test_lineage_tags_of_any_valid_root_are_acceptable(root: str) -> None:
    # Given / When
    tags = naming.new_image_tags({}, root, naming.derived_image_name(root, STARTED))

    # Then each tag value meets AppStream's rules (keys are checked apart: they are reserved)
    for key, value in tags.items():
        problem = naming.tag_problem("probe", value)
        assert problem is None, (key, problem)


# --- lineage membership -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "description", "tags", "member"),
    [
        ("Base-20260105-030000", None, {naming.LINEAGE_ROOT_TAG: "Base"}, True),
        # The lineage tag was removed, but the updater's immutable description remains
        ("Base-20260105-030000", naming.new_image_description("Base", STARTED), {}, True),
        # A tag naming another root is never overridden by the description
        (
            "Base-20260105-030000",
            naming.new_image_description("Base", STARTED),
            {naming.LINEAGE_ROOT_TAG: "Other"},
            False,
        ),
        # Neither tag nor description: a look-alike someone else made
        ("Base-20260105-030000", "Made by hand", {}, False),
        ("Base-20260105-030000", None, {}, False),
        # The name decides first: a tagged image with a foreign name is no member
        ("Base-final", None, {naming.LINEAGE_ROOT_TAG: "Base"}, False),
    ],
)
def test_lineage_membership(
    name: str, description: str | None, tags: dict[str, str], member: bool
) -> None:
    # Given an image of the account / When / Then
    assert naming.is_lineage_member("Base", name, description, tags) is member


@given(root=valid_roots, source=valid_roots)
def test_every_description_carries_the_marker_within_appstreams_limit(
    root: str, source: str
) -> None:
    # Given / When
    description = naming.new_image_description(source, STARTED)

    # Then
    assert len(description) <= naming.DESCRIPTION_MAX
    assert description.endswith(naming.DESCRIPTION_MARKER)
