"""Every rule that protects an image from retention, one by one: a deletion cannot be undone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from image_updater.domain import naming
from image_updater.models import ImageSummary
from image_updater.retention.policy import LineageImage, plan_retention, protection
from image_updater.retention.service import lineage_images, retire_old_images

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
ROOT = "Base"


def member(
    day: int, state: str = "AVAILABLE", *, tag_confirmed: bool = True, **protected: object
) -> LineageImage:
    """An image the updater built `day` days before NOW."""
    created = NOW - timedelta(days=day)
    name = f"Base-{created:%Y%m%d-%H%M%S}"
    image = ImageSummary(
        name=name,
        arn=f"arn:aws:appstream:r:a:image/{name}",
        state=state,
        created_time=created.isoformat(),
    )
    return LineageImage(image=image, tag_confirmed=tag_confirmed, **protected)  # type: ignore[arg-type]


def test_the_newest_keep_images_stay_and_older_unprotected_ones_go() -> None:
    # Given five AVAILABLE images of the lineage, 10 to 50 days old
    images = [member(day) for day in (10, 20, 30, 40, 50)]

    # When keepImages is 2
    plan = plan_retention(ROOT, images, keep=2, now=NOW)

    # Then the two newest stay and the three older are deleted, oldest first
    assert sorted(plan.keep_newest) == sorted(i.image.name for i in images[:2])
    assert plan.to_delete == [i.image.name for i in reversed(images[2:])]


def test_keep_images_zero_deletes_nothing_and_decides_nothing() -> None:
    # Given / When
    plan = plan_retention(ROOT, [member(day) for day in (10, 20, 30)], keep=0, now=NOW)

    # Then
    assert plan.to_delete == []
    assert plan.decisions == ()


@pytest.mark.parametrize(
    ("protected", "reason"),
    [
        ({"fleets": ("Prod",)}, "in use by fleet Prod"),
        ({"image_builders": ("Builder1",)}, "image builder Builder1 was started from it"),
        ({"shared_with": ("111122223333",)}, "shared with account 111122223333"),
        ({"source_of_update": "Base-20260601-030000"}, "source of the update in progress"),
        ({"tag_confirmed": False}, "lineage tag is missing"),
    ],
    ids=["fleet", "image-builder", "shared", "update-source", "untagged"],
)
def test_a_protected_image_beyond_keep_images_is_kept_with_its_reason(
    protected: dict[str, object], reason: str
) -> None:
    # Given three images, the oldest protected
    images = [member(10), member(20), member(30, **protected)]

    # When
    plan = plan_retention(ROOT, images, keep=2, now=NOW)

    # Then it is kept, and the reason says why
    assert plan.to_delete == []
    (kept,) = plan.kept
    assert kept.name == images[2].image.name
    assert reason in kept.reason


def test_an_image_younger_than_a_day_is_never_deleted() -> None:
    # Given two images made 2 and 23 hours ago, and keepImages 1
    young = [
        LineageImage(
            image=ImageSummary(
                name=f"Base-2026060{i}-000000",
                arn="arn",
                state=state,
                created_time=(NOW - timedelta(hours=hours)).isoformat(),
            ),
            tag_confirmed=True,
        )
        for i, (state, hours) in enumerate([("AVAILABLE", 2), ("AVAILABLE", 23)], 1)
    ]

    # When
    plan = plan_retention(ROOT, young, keep=1, now=NOW)

    # Then the older of the two is beyond keepImages, yet kept for its age
    (kept,) = plan.kept
    assert kept.reason == "created less than a day ago"


def test_the_root_is_never_deleted_even_when_listed() -> None:
    # Given the root image itself among the lineage's images (old, unused)
    root = LineageImage(
        image=ImageSummary(name=ROOT, arn="arn", state="AVAILABLE", created_time="2020-01-01"),
        tag_confirmed=True,
    )

    # When / Then
    plan = plan_retention(ROOT, [member(10), member(20), root], keep=1, now=NOW)
    assert ROOT not in plan.to_delete
    assert protection(root, ROOT, NOW) == "it is the configured image"


def test_failed_images_beyond_the_newest_are_deleted_but_not_while_building() -> None:
    # Given the newest AVAILABLE image, an old FAILED build and one still being built
    images = [member(10), member(20, state="FAILED"), member(30, state="PENDING")]

    # When
    plan = plan_retention(ROOT, images, keep=1, now=NOW)

    # Then the FAILED one goes, the PENDING one stays
    assert plan.to_delete == [images[1].image.name]
    (kept,) = plan.kept
    assert kept.reason == "it is PENDING"


def test_untagged_images_do_not_count_toward_keep_images() -> None:
    # Given the newest image lost its lineage tag
    images = [member(10, tag_confirmed=False), member(20), member(30)]

    # When keepImages is 2
    plan = plan_retention(ROOT, images, keep=2, now=NOW)

    # Then the two newest tag-confirmed ones stay, and the untagged one is kept, not deleted
    assert sorted(plan.keep_newest) == sorted([images[1].image.name, images[2].image.name])
    assert plan.to_delete == []
    assert [d.name for d in plan.kept] == [images[0].image.name]


# --- rollback targets: an image a fleet can be rolled back to ---------------------------------


def test_a_fleets_rollback_target_is_kept_with_the_fleets_named() -> None:
    # Given three images, the oldest recorded as the previous image of two fleets
    images = [member(10), member(20), member(30, rollback_for=("CanaryA", "ProdB"))]

    # When
    plan = plan_retention(ROOT, images, keep=2, now=NOW)

    # Then it is kept, saying whose rollback target it is
    assert plan.to_delete == []
    (kept,) = plan.kept
    assert (kept.name, kept.reason) == (
        images[2].image.name,
        "rollback target of fleet CanaryA, ProdB",
    )


def test_a_rollback_target_is_protected_even_when_failed_or_old() -> None:
    # Given a FAILED image a year old, recorded as a fleet's previous image
    target = member(365, state="FAILED", rollback_for=("Prod",))

    # When / Then
    assert protection(target, ROOT, NOW) == "rollback target of fleet Prod"
    assert plan_retention(ROOT, [member(10), target], keep=1, now=NOW).to_delete == []


class FakeLineage:
    """RetentionPort: the lineage's images, every one tagged as the updater's own."""

    def __init__(self, images: list[ImageSummary]) -> None:
        self.images = images
        self.deleted: list[str] = []

    def describe(self, name: str) -> ImageSummary:
        return next(i for i in self.images if i.name == name)

    def tags(self, arn: str) -> dict[str, str]:
        return {naming.LINEAGE_ROOT_TAG: ROOT}

    def lineage_members(self, root: str) -> list[ImageSummary]:
        return list(self.images)

    def shared_with(self, name: str) -> list[str]:
        return []

    def delete(self, name: str) -> None:
        self.deleted.append(name)


class FakeUsers:
    """ImageUsersPort: no fleet or builder runs an image; `targets` are the recorded ones."""

    def __init__(self, targets: dict[str, list[str]]) -> None:
        self.targets = targets

    def fleet_images(self) -> dict[str, list[str]]:
        return {}

    def builder_images(self) -> dict[str, list[str]]:
        return {}

    def rollback_targets(self) -> dict[str, list[str]]:
        return self.targets


def test_rollback_targets_recorded_by_name_or_by_arn_both_protect() -> None:
    # Given four old images: one recorded by name on a fleet, one by ARN on another
    images = [member(day).image for day in (10, 20, 30, 40)]
    by_name, by_arn = images[2], images[3]
    port = FakeLineage(images)
    users = FakeUsers({by_name.name: ["CanaryA"], by_arn.arn: ["ProdB"], "Elsewhere": ["X"]})

    # When
    known = {c.image.name: c for c in lineage_images(ROOT, port, users)}
    result = retire_old_images(ROOT, port, users, keep=1, now=NOW)

    # Then both are kept with their fleet named, and only the unprotected one goes
    assert known[by_name.name].rollback_for == ("CanaryA",)
    assert known[by_arn.name].rollback_for == ("ProdB",)
    assert known[images[1].name].rollback_for == ()
    assert port.deleted == [images[1].name]
    assert dict(result.kept) == {
        by_name.name: "rollback target of fleet CanaryA",
        by_arn.name: "rollback target of fleet ProdB",
    }


def test_an_image_recorded_by_name_and_by_arn_names_every_fleet() -> None:
    # Given one image recorded by name on one fleet and by ARN on another
    image = member(30).image
    users = FakeUsers({image.name: ["CanaryA"], image.arn: ["ProdB"]})

    # When
    (found,) = lineage_images(ROOT, FakeLineage([image]), users)

    # Then
    assert found.rollback_for == ("CanaryA", "ProdB")
