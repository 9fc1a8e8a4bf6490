"""The poll handler: one DescribeImages per call, and the outcome once the image settles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from image_updater.handlers import check, create, poll
from image_updater.update.recorded_creates import UNCONFIRMED_HOLD
from rehearsal.appstream import SimulatedAppStream
from tests.handlers.conftest import (
    DERIVED,
    MAX_POLLS,
    ROOT,
    LambdaContext,
    ManualClock,
    emitted_metrics,
    lineage_tags,
    new_task,
)
from tests.handlers.steps import old_root, raised_by

POLL_INTERVAL = timedelta(minutes=10)


def started_update(sim: SimulatedAppStream, lambda_context: LambdaContext) -> dict[str, Any]:
    """A task whose update was started by the real check and create steps."""
    old_root(sim)
    return create.handler(check.handler(new_task(), lambda_context), lambda_context)


def poll_until_settled(
    task: dict[str, Any], lambda_context: LambdaContext, clock: ManualClock
) -> list[dict[str, Any]]:
    """What the Wait -> Poll -> Choice loop does; every result, at most MAX_POLLS + 1."""
    results = []
    for _ in range(MAX_POLLS + 1):
        clock.advance(POLL_INTERVAL)
        task = poll.handler(task, lambda_context)
        results.append(task)
        if task["outcome"] is not None:
            break
    return results


def following(name: str) -> dict[str, Any]:
    """A task that follows an update found in progress, as check hands it on."""
    return {**new_task(), "action": "FOLLOW", "newImageName": name, "polls": 0}


def test_an_image_still_building_has_no_outcome_yet(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given an update in progress
    sim.add_image(ROOT)
    sim.add_image(DERIVED, state="PENDING", tags=lineage_tags())

    # When
    result = poll.handler(following(DERIVED), lambda_context)

    # Then the state machine waits again
    assert result["outcome"] is None
    assert result["polls"] == 1
    assert result["image"]["state"] == "PENDING"
    describes = [call.params for call in sim.calls if call.operation == "DescribeImages"]
    assert describes == [{"Names": [DERIVED]}]


def test_an_update_that_becomes_available_succeeds(
    sim: SimulatedAppStream,
    lambda_context: LambdaContext,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an update AppStream finishes on the second status check
    sim.script_update(ROOT, polls=2)
    task = started_update(sim, lambda_context)

    # When the workflow polls it
    results = poll_until_settled(task, lambda_context, clock)

    # Then
    assert [(r["outcome"], r["polls"], r["image"]["state"]) for r in results] == [
        (None, 1, "PENDING"),
        ("SUCCEEDED", 2, "AVAILABLE"),
    ]
    image = results[-1]["image"]
    assert image["name"] == DERIVED
    assert image["agentVersion"] == "1.1.1001"  # the update installed a newer agent
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["UpdatesSucceeded"] == 1
    assert metrics["UpdateDurationMinutes"] == pytest.approx(20)  # minutes, two intervals


def test_a_failed_update_carries_the_reason_and_every_image_error(
    sim: SimulatedAppStream,
    lambda_context: LambdaContext,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an update that AppStream fails with two image errors
    sim.script_update(
        ROOT,
        polls=1,
        outcome="FAILED",
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message="The image update failed.",
        errors=[
            ("IMAGE_UPDATE_FAILURE", "Windows Update returned 0x80070005"),
            ("INTERNAL_SERVICE_ERROR", "The image builder stopped responding"),
        ],
    )
    task = started_update(sim, lambda_context)

    # When
    results = poll_until_settled(task, lambda_context, clock)

    # Then
    assert [r["outcome"] for r in results] == ["FAILED"]
    image = results[-1]["image"]
    assert image["state"] == "FAILED"
    assert image["reasonCode"] == "IMAGE_UPDATE_FAILURE"
    assert image["reasonMessage"] == "The image update failed."
    assert [(e["code"], e["message"]) for e in image["errors"]] == [
        ("IMAGE_UPDATE_FAILURE", "Windows Update returned 0x80070005"),
        ("INTERNAL_SERVICE_ERROR", "The image builder stopped responding"),
    ]
    assert all(e["timestamp"].startswith("2026-01-05T03:10:00") for e in image["errors"])
    assert emitted_metrics(capsys.readouterr().out)["UpdatesFailed"] == 1


def test_an_update_still_building_after_the_last_poll_times_out(
    sim: SimulatedAppStream,
    lambda_context: LambdaContext,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given an update that takes longer than MAX_POLLS status checks
    sim.script_update(ROOT, polls=MAX_POLLS + 5)
    task = started_update(sim, lambda_context)

    # When
    results = poll_until_settled(task, lambda_context, clock)

    # Then the run stops waiting after MAX_POLLS, and the build goes on
    assert [(r["outcome"], r["polls"]) for r in results] == [
        (None, 1),
        (None, 2),
        ("TIMED_OUT", MAX_POLLS),
    ]
    assert results[-1]["image"]["state"] == "PENDING"
    assert sim.updates_in_progress() == [DERIVED]
    assert emitted_metrics(capsys.readouterr().out)["UpdatesTimedOut"] == 1


def test_an_image_that_settles_on_the_last_poll_is_not_timed_out(
    sim: SimulatedAppStream, lambda_context: LambdaContext, clock: ManualClock
) -> None:
    # Given an update that finishes exactly on the last allowed status check
    sim.script_update(ROOT, polls=MAX_POLLS)
    task = started_update(sim, lambda_context)

    # When
    results = poll_until_settled(task, lambda_context, clock)

    # Then
    assert [r["outcome"] for r in results] == [None, None, "SUCCEEDED"]


def test_an_image_deleted_while_building_raises_image_disappeared(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the task follows an image that no longer exists
    sim.add_image(ROOT)

    # When
    raised = raised_by(poll.handler, following(DERIVED), lambda_context)

    # Then
    assert raised.typename == "ImageDisappeared"
    assert DERIVED in str(raised.value)


# --- a listing that lags behind the create --------------------------------------------------------


def test_an_image_the_listing_does_not_show_yet_is_still_building_while_its_record_holds(
    sim: SimulatedAppStream, lambda_context: LambdaContext, clock: ManualClock
) -> None:
    # Given AppStream lists a new image only 12 minutes after accepting its create (longer
    # than the poll interval), and the update finishes on the second status check
    sim.lag_listing(POLL_INTERVAL + timedelta(minutes=2))
    sim.script_update(ROOT, polls=2)
    task = started_update(sim, lambda_context)

    # When the workflow polls it
    results = poll_until_settled(task, lambda_context, clock)

    # Then the first check (image not found, its create on record) waits again, and the
    # update is reported once listed
    assert [(r["outcome"], r["polls"]) for r in results] == [(None, 1), (None, 2), ("SUCCEEDED", 3)]


def test_an_image_still_not_found_after_its_record_s_hold_has_disappeared(
    sim: SimulatedAppStream, lambda_context: LambdaContext, clock: ManualClock
) -> None:
    # Given a created image that AppStream does not find for longer than UNCONFIRMED_HOLD
    sim.lag_listing(UNCONFIRMED_HOLD + timedelta(hours=1))
    task = started_update(sim, lambda_context)

    # When the workflow polls it within the hold, then after it
    clock.advance(UNCONFIRMED_HOLD - timedelta(seconds=1))
    within = poll.handler(task, lambda_context)
    clock.advance(timedelta(seconds=1))
    raised = raised_by(poll.handler, within, lambda_context)

    # Then it was still building, and then it had disappeared, as before
    assert (within["outcome"], within["polls"]) == (None, 1)
    assert raised.typename == "ImageDisappeared"
    assert DERIVED in str(raised.value)
