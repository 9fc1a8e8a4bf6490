"""The create handler: starts the managed update, and names every way AppStream can refuse."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from image_updater.domain import naming
from image_updater.handlers import check, create
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.models import FOLLOW, UPDATE, ImageSummary
from image_updater.update.task import UpdateTask
from rehearsal.appstream import SimulatedAppStream
from tests.handlers.conftest import (
    CONFIGURED_TAGS,
    DERIVED,
    EXECUTION_ARN,
    IMAGE_ARN,
    ROOT,
    START,
    STARTED_AT,
    LambdaContext,
    emitted_metrics,
    lineage_tags,
    new_task,
)
from tests.handlers.steps import old_root, raised_by


def checked_task(sim: SimulatedAppStream, lambda_context: LambdaContext) -> dict[str, Any]:
    """The task as the check step hands it on when an update is available."""
    task = check.handler(new_task(), lambda_context)
    assert task["action"] == UPDATE
    return task


def root_checked(sim: SimulatedAppStream, lambda_context: LambdaContext) -> dict[str, Any]:
    """Given the root, 90 days old, and the check step's task for it (an update available)."""
    old_root(sim)
    return checked_task(sim, lambda_context)


def creates(sim: SimulatedAppStream) -> list[tuple[dict[str, Any], str | None]]:
    """The real (not dry-run) CreateUpdatedImage requests, with the error each got."""
    return [
        (call.params, call.error)
        for call in sim.calls
        if call.operation == "CreateUpdatedImage" and not call.params["dryRun"]
    ]


def test_the_request_carries_the_description_display_name_and_tags(
    sim: SimulatedAppStream, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the check step chose to update the root
    task = root_checked(sim, lambda_context)

    # When
    result = create.handler(task, lambda_context)

    # Then AppStream got one request with everything an admin sees on the new image
    assert creates(sim) == [
        (
            {
                "existingImageName": ROOT,
                "newImageName": DERIVED,
                "newImageDescription": naming.new_image_description(ROOT, START),
                "newImageDisplayName": "ImgA (updated 2026-01-05)",
                "newImageTags": {**CONFIGURED_TAGS, **lineage_tags()},
                "dryRun": False,
            },
            None,
        )
    ]
    # and the image is being built, carrying the tags that make it a lineage member
    assert sim.updates_in_progress() == [DERIVED]
    assert sim.tags(DERIVED) == {"team": "euc", **lineage_tags()}
    assert result["image"]["name"] == DERIVED
    assert result["image"]["arn"] == IMAGE_ARN + DERIVED
    assert result["image"]["state"] == "PENDING"
    # and the run now follows the image it started
    assert (result["action"], result["newImageName"], result["outcome"]) == (FOLLOW, DERIVED, None)
    assert emitted_metrics(capsys.readouterr().out)["UpdatesStarted"] == 1


def test_a_retry_after_a_lost_response_finds_its_own_image_and_carries_on(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the update was started, but the step is run again (its response was lost)
    task = root_checked(sim, lambda_context)
    first = create.handler(task, lambda_context)

    # When
    second = create.handler(task, lambda_context)

    # Then the retry looked at the lineage first, found its own image building and follows it
    # without asking AppStream for a second one
    assert [error for _, error in creates(sim)] == [None]
    assert second["action"] == FOLLOW
    assert second["image"]["name"] == DERIVED
    assert second["image"]["state"] == "PENDING"
    assert second["image"]["arn"] == first["image"]["arn"]
    assert sim.updates_in_progress() == [DERIVED]


def test_an_existing_image_tagged_for_the_lineage_is_treated_as_started(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given an image with the derived name that the updater created for this root
    task = root_checked(sim, lambda_context)
    sim.add_image(DERIVED, state="PENDING", tags=lineage_tags())

    # When
    result = create.handler(task, lambda_context)

    # Then it is followed, without a create request
    assert creates(sim) == []
    assert (result["image"]["name"], result["image"]["state"]) == (DERIVED, "PENDING")
    assert result["action"] == FOLLOW


def test_an_own_image_not_yet_listed_answers_already_exists_and_is_treated_as_started(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given an image of the derived name, created by the updater for this root, that the
    # lineage listing does not show yet (AppStream's listing lags behind for a moment)
    task = root_checked(sim, lambda_context)
    sim.add_image(DERIVED, state="PENDING", tags=lineage_tags())
    sim.fail(
        "DescribeImages",
        "ThrottlingException",
        calls=None,
        when=lambda params: params.get("Type") == "PRIVATE",
    )

    # When the listing cannot be read, the step fails before any create: it never guesses
    raised = raised_by(create.handler, task, lambda_context)

    # Then nothing was requested from AppStream, and the error is the retried one
    assert type(raised.value).__name__ == "AppStreamThrottled"
    assert creates(sim) == []


@pytest.mark.parametrize(
    "tags",
    [None, {"team": "euc"}, lineage_tags(root="ImgB")],
    ids=["untagged", "other-tags", "another-lineage"],
)
def test_an_existing_image_of_someone_else_raises_image_name_taken(
    sim: SimulatedAppStream, lambda_context: LambdaContext, tags: dict[str, str] | None
) -> None:
    # Given an image with the derived name that the updater did not create for this root
    task = root_checked(sim, lambda_context)
    sim.add_image(DERIVED, tags=tags)

    # When
    raised = raised_by(create.handler, task, lambda_context)

    # Then
    assert raised.typename == "ImageNameTaken"
    assert DERIVED in str(raised.value)
    assert sim.tags(DERIVED) == (tags or {})  # left alone


def test_the_image_quota_raises_update_quota_exceeded(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the account already holds as many images as its quota allows
    old_root(sim)
    sim.set_quota(images=1)
    task = checked_task(sim, lambda_context)

    # When
    raised = raised_by(create.handler, task, lambda_context)

    # Then
    assert raised.typename == "UpdateQuotaExceeded"
    assert "LimitExceededException" in str(raised.value)
    assert sim.updates_in_progress() == []


@pytest.mark.parametrize(
    ("keep_images", "said"),
    [
        ("0", "Retention is off (keepImages=0): the updater deletes none of its images."),
        ("1", "Images of this lineage beyond keepImages=1: none;"),
    ],
)
def test_a_quota_refusal_is_explained_with_the_configured_keep_images(
    sim: SimulatedAppStream,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    keep_images: str,
    said: str,
) -> None:
    # Given the stack's keepImages reached the create function, and the images quota is full
    monkeypatch.setenv("KEEP_IMAGES", keep_images)
    old_root(sim)
    sim.set_quota(images=1)
    task = checked_task(sim, lambda_context)

    # When / Then the explanation uses that setting, not a default
    raised = raised_by(create.handler, task, lambda_context)
    assert raised.typename == "UpdateQuotaExceeded"
    assert said in str(raised.value)


def test_the_concurrent_update_quota_raises_update_quota_exceeded(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given another image's update already uses the only concurrent update allowed
    old_root(sim)
    sim.add_image("ImgB", created_time=START - timedelta(days=90))
    sim.set_quota(concurrent_updates=1)
    other = check.handler(new_task(root="ImgB"), lambda_context)
    create.handler(other, lambda_context)
    task = checked_task(sim, lambda_context)

    # When
    raised = raised_by(create.handler, task, lambda_context)

    # Then
    assert raised.typename == "UpdateQuotaExceeded"
    assert sim.updates_in_progress() == ["ImgB-20260105-030000"]


def test_updates_still_building_from_earlier_runs_hold_new_ones_back(
    sim: SimulatedAppStream, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given maxConcurrentUpdates=1, two configured images, and an update of ImgB that an
    # earlier run stopped waiting for (still building in AppStream)
    monkeypatch.setenv("CONFIGURED_IMAGES", '["ImgA", "ImgB"]')
    monkeypatch.setenv("MAX_CONCURRENT_UPDATES", "1")
    old_root(sim)
    sim.add_image("ImgB", created_time=START - timedelta(days=90))
    other = check.handler(new_task(root="ImgB"), lambda_context)
    create.handler(other, lambda_context)
    task = checked_task(sim, lambda_context)

    # When ImgA's update would start
    raised = raised_by(create.handler, task, lambda_context)

    # Then it waits for a slot (the state machine retries this error for over an hour)
    assert raised.typename == "UpdateSlotsBusy"
    assert "ImgB-20260105-030000" in str(raised.value)
    assert [params["newImageName"] for params, _ in creates(sim)] == ["ImgB-20260105-030000"]


def test_the_own_image_of_a_retried_create_does_not_count_as_another_update(
    sim: SimulatedAppStream, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given maxConcurrentUpdates=1 and a create whose response was lost (the image exists)
    monkeypatch.setenv("MAX_CONCURRENT_UPDATES", "1")
    task = root_checked(sim, lambda_context)
    create.handler(task, lambda_context)

    # When Step Functions retries the same create
    result = create.handler(task, lambda_context)

    # Then it recognises its own update instead of waiting for a slot
    assert result["image"]["name"] == DERIVED
    assert sim.updates_in_progress() == [DERIVED]


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("ConcurrentModificationException", "AppStreamBusy"),
        ("ThrottlingException", "AppStreamThrottled"),
        # the throttling error AppStream's own model defines
        ("RequestLimitExceededException", "AppStreamThrottled"),
        ("LimitExceededException", "UpdateQuotaExceeded"),
        ("IncompatibleImageException", "UpdateNotPermitted"),
        ("OperationNotPermittedException", "UpdateNotPermitted"),
        ("InvalidAccountStatusException", "UpdateNotPermitted"),
    ],
)
def test_appstream_errors_are_raised_under_the_names_the_state_machine_matches(
    sim: SimulatedAppStream, lambda_context: LambdaContext, code: str, error_type: str
) -> None:
    # Given AppStream answers the next real CreateUpdatedImage with an error
    task = root_checked(sim, lambda_context)
    sim.fail("CreateUpdatedImage", code, when=lambda params: not params["dryRun"])

    # When
    raised = raised_by(create.handler, task, lambda_context)

    # Then the error carries the name Retry/Catch match, and AppStream's code in its message
    assert raised.typename == error_type
    assert code in str(raised.value)
    assert [error for _, error in creates(sim)] == [code]  # raised at once, not retried here
    assert sim.updates_in_progress() == []


def test_an_image_that_is_not_windows_raises_update_not_permitted(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given a task whose source AppStream cannot update (its platform is not Windows)
    source = sim.add_image(ROOT, platform="AMAZON_LINUX2")
    task = UpdateTask(
        root_image_name=ROOT,
        execution_id=EXECUTION_ARN,
        started_at=STARTED_AT,
        action=UPDATE,
        source=ImageSummary.from_appstream(source),
        new_image_name=DERIVED,
    ).to_event()

    # When
    raised = raised_by(create.handler, task, lambda_context)

    # Then
    assert raised.typename == "UpdateNotPermitted"
    assert "IncompatibleImageException" in str(raised.value)
    assert [error for _, error in creates(sim)] == ["IncompatibleImageException"]


def test_a_malformed_task_raises_invalid_execution_input(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given a task without its root image
    # When
    raised = raised_by(
        create.handler, {"executionId": EXECUTION_ARN, "startedAt": STARTED_AT}, lambda_context
    )

    # Then
    assert raised.typename == "InvalidExecutionInput"
    assert sim.calls == []


class _AcceptsWithoutArn:
    """A client whose CreateUpdatedImage answers with the image's name only: all the model
    requires of the `Image` shape."""

    def __init__(self, full_image: dict[str, Any]) -> None:
        self.full_image = full_image
        self.described: list[list[str]] = []

    def create_updated_image(self, **_: Any) -> dict[str, Any]:
        return {"image": {"Name": self.full_image["Name"]}, "canUpdateImage": True}

    def describe_images(self, Names: list[str]) -> dict[str, Any]:
        self.described.append(Names)
        return {"Images": [self.full_image]}


def test_a_create_answer_without_the_arn_is_completed_by_describing_the_image() -> None:
    # Given AppStream accepted the update but its answer names the image only
    full = {"Name": DERIVED, "Arn": IMAGE_ARN + DERIVED, "State": "PENDING"}
    client = _AcceptsWithoutArn(full)

    # When
    image = AppStreamImages(client).start_update(  # type: ignore[arg-type]
        ROOT, DERIVED, description="d", display_name="n", tags={}
    )

    # Then the step does not fail after the update started: it asked for the rest
    assert (image.name, image.arn, image.state) == (DERIVED, IMAGE_ARN + DERIVED, "PENDING")
    assert client.described == [[DERIVED]]
