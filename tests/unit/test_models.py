"""The records that travel through the workflow, and how they map AppStream's `Image` shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from image_updater.errors import InvalidExecutionInput
from image_updater.models import FAILED, SUCCEEDED, UPDATE, ImageError, ImageSummary
from image_updater.update.task import UpdateTask

EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:ImageUpdater:run-1"
ARN = "arn:aws:appstream:us-east-1:123456789012:image/"


def failed_build(created_time: str, reason_message: str, *errors: ImageError) -> ImageSummary:
    """The image SalesApps-20260105-030000 (Windows Server 2022, agent 1.1.1001), which
    AppStream failed to update (IMAGE_UPDATE_FAILURE) with `reason_message` and `errors`."""
    return ImageSummary(
        state=FAILED,
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message=reason_message,
        errors=errors,
        created_time=created_time,
        platform="WINDOWS_SERVER_2022",
        agent_version="1.1.1001",
        description="updated",
        name="SalesApps-20260105-030000",
        arn=ARN + "SalesApps-20260105-030000",
    )


def full_task() -> UpdateTask:
    return UpdateTask(
        root_image_name="SalesApps",
        execution_id=EXECUTION_ARN,
        started_at="2026-01-05T03:00:00.123Z",
        dry_run=True,
        action=UPDATE,
        source=ImageSummary(name="SalesApps", arn=ARN + "SalesApps", state="AVAILABLE"),
        new_image_name="SalesApps-20260105-030000",
        image=failed_build(
            "2026-01-05T03:00:01+00:00",
            "The image update failed.",
            ImageError("INTERNAL_SERVICE_ERROR", "boom", "2026-01-05T04:00:00+00:00"),
            ImageError("OTHER", "no time"),
        ),
        polls=7,
        outcome=FAILED,
    )


# --- UpdateTask ------------------------------------------------------------------------------


def test_a_full_task_survives_the_round_trip() -> None:
    # Given a task with every field set
    task = full_task()

    # When it leaves a Lambda and enters the next one
    again = UpdateTask.from_event(task.to_event())

    # Then nothing is lost
    assert again == task


def test_a_new_task_from_the_map_survives_the_round_trip() -> None:
    # Given the item the Map state builds for one image
    event = {
        "rootImageName": "SalesApps",
        "executionId": EXECUTION_ARN,
        "startedAt": "2026-01-05T03:00:00.123Z",
        "dryRun": False,
    }

    # When
    task = UpdateTask.from_event(event)

    # Then the defaults apply, and the event has every key the state machine reads
    assert (task.polls, task.action, task.outcome, task.source, task.image) == (
        0,
        None,
        None,
        None,
        None,
    )
    assert task.to_event() == {
        **event,
        "polls": 0,
        "action": None,
        "outcome": None,
        "newImageName": None,
    }
    assert UpdateTask.from_event(task.to_event()) == task


def test_task_event_uses_camel_case_keys() -> None:
    # Given / When
    event = full_task().to_event()

    # Then
    assert set(event) == {
        "rootImageName",
        "executionId",
        "startedAt",
        "dryRun",
        "polls",
        "action",
        "outcome",
        "source",
        "newImageName",
        "image",
    }
    image = event["image"]
    assert image["createdTime"] == "2026-01-05T03:00:01+00:00"
    assert image["agentVersion"] == "1.1.1001"
    assert image["reasonCode"] == "IMAGE_UPDATE_FAILURE"
    assert image["errors"] == [
        {
            "code": "INTERNAL_SERVICE_ERROR",
            "message": "boom",
            "timestamp": "2026-01-05T04:00:00+00:00",
        },
        {"code": "OTHER", "message": "no time"},
    ]


def test_started_at_time_reads_step_functions_timestamps() -> None:
    # Given Step Functions' $$.Execution.StartTime format
    task = UpdateTask.from_event(
        {"rootImageName": "A", "executionId": "x", "startedAt": "2026-01-05T03:00:00.123Z"}
    )

    # When / Then
    assert task.started_at_time == datetime(2026, 1, 5, 3, 0, 0, 123000, tzinfo=UTC)


def test_evolve_returns_a_changed_copy() -> None:
    # Given
    task = full_task()

    # When
    evolved = task.evolve(outcome=SUCCEEDED, polls=8)

    # Then
    assert (evolved.outcome, evolved.polls) == (SUCCEEDED, 8)
    assert (task.outcome, task.polls) == (FAILED, 7)


@pytest.mark.parametrize(
    "event",
    [
        None,
        "SalesApps",
        ["SalesApps"],
        {},
        {"rootImageName": "SalesApps", "executionId": "x"},  # no startedAt
        {"executionId": "x", "startedAt": "2026-01-05T03:00:00Z"},  # no root
        {"rootImageName": "A", "executionId": "x", "startedAt": "t", "polls": "many"},
        {"rootImageName": "A", "executionId": "x", "startedAt": "t", "polls": None},
        {"rootImageName": "A", "executionId": "x", "startedAt": "t", "image": {"name": "n"}},
        {"rootImageName": "A", "executionId": "x", "startedAt": "t", "dryRun": "false"},
        {
            "rootImageName": "A",
            "executionId": "x",
            "startedAt": "t",
            "source": {"name": "n", "arn": "a", "state": "AVAILABLE", "errors": [{"code": "C"}]},
        },
    ],
)
def test_a_malformed_task_is_invalid_execution_input(event: Any) -> None:
    # Given / When / Then
    with pytest.raises(InvalidExecutionInput) as raised:
        UpdateTask.from_event(event)
    assert type(raised.value).__name__ == "InvalidExecutionInput"


# --- ImageSummary ----------------------------------------------------------------------------


def test_from_appstream_maps_the_image_shape() -> None:
    # Given an Image as boto3 returns it, with datetimes and errors
    created = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    failed_at = datetime(2026, 1, 5, 4, 0, tzinfo=timezone(timedelta(hours=1)))
    image = {
        "Name": "SalesApps-20260105-030000",
        "Arn": ARN + "SalesApps-20260105-030000",
        "State": "FAILED",
        "CreatedTime": created,
        "Platform": "WINDOWS_SERVER_2022",
        "AppstreamAgentVersion": "1.1.1001",
        "Description": "updated",
        "Visibility": "PRIVATE",
        "StateChangeReason": {"Code": "IMAGE_UPDATE_FAILURE", "Message": "It failed."},
        "ImageErrors": [
            {
                "ErrorCode": "INTERNAL_SERVICE_ERROR",
                "ErrorMessage": "boom",
                "ErrorTimestamp": failed_at,
            },
            {"ErrorMessage": "no code"},
        ],
    }

    # When
    summary = ImageSummary.from_appstream(image)

    # Then
    assert summary == failed_build(
        "2026-01-05T03:00:00+00:00",
        "It failed.",
        ImageError("INTERNAL_SERVICE_ERROR", "boom", "2026-01-05T04:00:00+01:00"),
        ImageError("UNKNOWN", "no code", None),
    )
    assert datetime.fromisoformat(summary.created_time or "") == created


def test_from_appstream_with_only_the_required_members() -> None:
    # Given a minimal Image (State, reason and errors absent)
    image = {"Name": "SalesApps", "Arn": ARN + "SalesApps"}

    # When
    summary = ImageSummary.from_appstream(image)

    # Then
    assert summary == ImageSummary(name="SalesApps", arn=ARN + "SalesApps", state="UNKNOWN")
    assert summary.errors == ()


def test_image_summary_json_round_trip() -> None:
    # Given
    image = full_task().image
    assert image is not None

    # When / Then
    assert ImageSummary.from_json(image.to_json()) == image
