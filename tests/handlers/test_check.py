"""The check handler: finds the lineage's newest image, follows or dry-runs an update."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from image_updater.handlers import check, create, poll
from rehearsal.appstream import Call, SimulatedAppStream
from tests.handlers.conftest import (
    DERIVED,
    IMAGE_ARN,
    ROOT,
    START,
    LambdaContext,
    ManualClock,
    emitted_metrics,
    lineage_tags,
    mark_sent,
    new_task,
    reported,
)
from tests.handlers.steps import old_root, raised_by


def calls_of(sim: SimulatedAppStream, operation: str) -> list[Call]:
    return [call for call in sim.calls if call.operation == operation]


def dry_runs(sim: SimulatedAppStream) -> list[dict[str, Any]]:
    return [call.params for call in calls_of(sim, "CreateUpdatedImage")]


def test_update_available_derives_the_new_name_from_a_dry_run(
    sim: SimulatedAppStream, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a root image with updates available
    old_root(sim)

    # When
    result = check.handler(new_task(), lambda_context)

    # Then it decides to update the root, under the name derived from the run's start
    assert result["action"] == "UPDATE"
    assert result["newImageName"] == DERIVED
    assert result["source"]["name"] == ROOT
    assert result["source"]["arn"] == IMAGE_ARN + ROOT
    assert result["outcome"] is None
    # and asked AppStream with a dry run only: nothing was created
    assert dry_runs(sim) == [{"existingImageName": ROOT, "newImageName": DERIVED, "dryRun": True}]
    assert list(sim.images) == [ROOT]
    assert "NoUpdate" not in emitted_metrics(capsys.readouterr().out)


def test_no_update_available_sets_the_outcome(
    sim: SimulatedAppStream, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a root image that is up to date
    sim.add_image(ROOT, updates_available=False)

    # When
    result = check.handler(new_task(), lambda_context)

    # Then
    assert (result["action"], result["outcome"]) == ("NO_UPDATE", "NO_UPDATE")
    assert result["source"]["name"] == ROOT
    assert result["newImageName"] is None
    assert len(dry_runs(sim)) == 1
    assert emitted_metrics(capsys.readouterr().out)["NoUpdate"] == 1


def test_an_update_of_the_lineage_in_progress_is_followed(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given an update started by an earlier run that is still building
    old_root(sim)
    building = "ImgA-20260104-030000"
    sim.add_image(
        building, state="PENDING", tags=lineage_tags(), created_time=START - timedelta(days=1)
    )

    # When
    result = check.handler(new_task(), lambda_context)

    # Then the run follows it instead of starting a second update
    assert result["action"] == "FOLLOW"
    assert result["newImageName"] == building
    assert result["image"]["state"] == "PENDING"
    assert result["outcome"] is None
    assert dry_runs(sim) == []


def test_after_an_earlier_update_the_newest_image_of_the_lineage_is_checked(
    sim: SimulatedAppStream, lambda_context: LambdaContext, clock: ManualClock
) -> None:
    # Given a first run that updated the root through the real handlers
    old_root(sim)
    sim.script_update(ROOT, polls=1)
    task = check.handler(new_task(), lambda_context)
    task = create.handler(task, lambda_context)
    clock.advance(timedelta(hours=2))
    task = poll.handler(task, lambda_context)
    assert (task["outcome"], task["image"]["state"]) == ("SUCCEEDED", "AVAILABLE")
    mark_sent(task)  # the workflow sent its e-mail
    assert dry_runs(sim)[0]["existingImageName"] == ROOT  # the root still has updates

    # When the next day's run checks the lineage
    clock.advance(timedelta(days=1))
    result = check.handler(new_task(started_at="2026-01-06T03:00:00.000Z"), lambda_context)

    # Then it dry-runs the new image, not the root, and finds nothing to do
    assert dry_runs(sim)[-1] == {
        "existingImageName": DERIVED,
        "newImageName": "ImgA-20260106-030000",
        "dryRun": True,
    }
    assert (result["action"], result["source"]["name"]) == ("NO_UPDATE", DERIVED)
    assert list(sim.images) == [ROOT, DERIVED]


def test_new_updates_of_the_newest_member_are_built_from_it_under_a_root_derived_name(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given two earlier updates, the newer one with updates available again
    old_root(sim)
    older, newer = "ImgA-20251101-030000", "ImgA-20251201-030000"
    sim.add_image(older, tags=lineage_tags(), created_time=START - timedelta(days=60))
    sim.add_image(newer, tags=lineage_tags(source=older), created_time=START - timedelta(days=30))
    reported(older, newer)

    # When
    result = check.handler(new_task(), lambda_context)

    # Then the newest is the source; the new name is derived from the root, so it does not grow
    assert (result["action"], result["source"]["name"]) == ("UPDATE", newer)
    assert result["newImageName"] == DERIVED
    assert dry_runs(sim) == [{"existingImageName": newer, "newImageName": DERIVED, "dryRun": True}]


def test_untagged_lookalike_names_are_not_lineage_members(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given images whose names look derived from the root but that the updater did not create
    old_root(sim)
    sim.add_image("ImgA-20260101-030000", created_time=START - timedelta(days=4))
    sim.add_image(
        "ImgA-20260102-030000",
        tags={"team": "euc"},
        created_time=START - timedelta(days=3),
    )
    sim.add_image(
        "ImgA-20260103-030000",
        tags=lineage_tags(root="SomeOtherRoot"),
        created_time=START - timedelta(days=2),
    )
    sim.add_image("ImgA-20260104-030000", state="PENDING", created_time=START - timedelta(days=1))

    # When
    result = check.handler(new_task(), lambda_context)

    # Then neither the newer AVAILABLE ones nor the building one count: the root is checked
    assert (result["action"], result["source"]["name"]) == ("UPDATE", ROOT)
    assert dry_runs(sim)[0]["existingImageName"] == ROOT


def test_a_tagged_image_with_a_foreign_name_is_not_a_lineage_member(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given an image tagged for the lineage whose name is not derived from the root
    old_root(sim)
    sim.add_image("Renamed-Copy", tags=lineage_tags(), created_time=START - timedelta(days=1))

    # When
    result = check.handler(new_task(), lambda_context)

    # Then
    assert result["source"]["name"] == ROOT


def test_a_deleted_root_leaves_its_lineage_to_carry_on_from_its_newest_image(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the configured image was deleted, but an image the updater built from it remains
    sim.add_image("ImgB")
    sim.add_image("ImgA-20260101-030000", tags=lineage_tags(), updates_available=True)
    reported("ImgA-20260101-030000")

    # When
    result = check.handler(new_task(), lambda_context)

    # Then the update starts from that image, and the task says the root is gone
    assert [run["existingImageName"] for run in dry_runs(sim)] == ["ImgA-20260101-030000"]
    assert (result["action"], result["source"]["name"]) == ("UPDATE", "ImgA-20260101-030000")
    assert result["rootMissing"] is True


def test_a_missing_root_with_nothing_left_of_its_lineage_raises_source_image_not_found(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the configured image does not exist, and no image of its lineage does (a look-alike
    # without the updater's tag or description is not one)
    sim.add_image("ImgB")
    sim.add_image(DERIVED)

    # When
    raised = raised_by(check.handler, new_task(), lambda_context)

    # Then
    assert raised.typename == "SourceImageNotFound"
    assert "'ImgA' does not exist" in str(raised.value)
    assert dry_runs(sim) == []


def a_failed_lineage(sim: SimulatedAppStream) -> None:
    """Given the root failed and the only member did too."""
    sim.add_image(ROOT, state="FAILED")
    sim.add_image("ImgA-20260101-030000", state="FAILED", tags=lineage_tags())
    reported("ImgA-20260101-030000")


def a_root_that_is_not_windows(sim: SimulatedAppStream) -> None:
    """Given a root AppStream refuses to update (not Windows)."""
    sim.add_image(ROOT, platform="AMAZON_LINUX2")


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        pytest.param(
            a_failed_lineage,
            "NoAvailableImage",
            "the root 'ImgA' is FAILED",
            id="no available image in the lineage raises NoAvailableImage",
        ),
        pytest.param(
            a_root_that_is_not_windows,
            "UpdateNotPermitted",
            "IncompatibleImageException",
            id="a root that cannot be updated raises UpdateNotPermitted",
        ),
    ],
)
def test_a_lineage_that_cannot_be_updated_raises_by_name(
    sim: SimulatedAppStream,
    lambda_context: LambdaContext,
    given: Callable[[SimulatedAppStream], None],
    error: str,
    message: str,
) -> None:
    # Given
    given(sim)

    # When
    raised = raised_by(check.handler, new_task(), lambda_context)

    # Then
    assert raised.typename == error
    assert message in str(raised.value)


def test_members_beyond_the_first_page_of_private_images_are_found(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given more than 25 private images, with the lineage's member listed last
    old_root(sim)
    for number in range(30):
        sim.add_image(f"Other{number:02d}", created_time=START - timedelta(days=80))
    member = "ImgA-20251201-030000"
    sim.add_image(member, tags=lineage_tags(), created_time=START - timedelta(days=30))
    reported(member)

    # When
    result = check.handler(new_task(), lambda_context)

    # Then the member was found on the second page and is the source
    assert result["source"]["name"] == member
    listings = [
        call.params
        for call in calls_of(sim, "DescribeImages")
        if call.params.get("Type") == "PRIVATE"
    ]
    assert len(listings) == 2
    assert all(params["MaxResults"] == 25 for params in listings)
    assert "NextToken" in listings[1]


def test_only_candidates_named_like_the_lineage_have_their_tags_read(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given many unrelated images and one member
    old_root(sim)
    for number in range(5):
        sim.add_image(f"Other{number}")
    sim.add_image(DERIVED.replace("0105", "0101"), tags=lineage_tags())
    reported(DERIVED.replace("0105", "0101"))

    # When
    check.handler(new_task(), lambda_context)

    # Then ListTagsForResource was called for the one candidate only
    assert [call.params for call in calls_of(sim, "ListTagsForResource")] == [
        {"ResourceArn": IMAGE_ARN + "ImgA-20260101-030000"}
    ]


def test_a_lineage_image_the_account_shares_with_others_is_still_a_member(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the newest image of the lineage is shared with another account: its owner still
    # sees it as PRIVATE (ImageSharedWithOthers=TRUE), so DescribeImages Type=PRIVATE lists it
    old_root(sim)
    shared = "ImgA-20260101-030000"
    sim.add_image(
        shared,
        tags=lineage_tags(),
        shared_with_others=True,
        updates_available=False,
        created_time=START - timedelta(days=4),
    )
    reported(shared)

    # When
    result = check.handler(new_task(), lambda_context)

    # Then it is the image checked for updates, not the root
    assert [run["existingImageName"] for run in dry_runs(sim)] == [shared]
    assert result["action"] == "NO_UPDATE"
