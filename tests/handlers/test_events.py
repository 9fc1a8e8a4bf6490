"""The updater's own EventBridge events: what each step publishes, and that a failure to
publish never costs the e-mail. Events are read back as a subscriber gets them: a rule on
moto's default bus delivers them to a queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from botocore.exceptions import ClientError

from image_updater import events
from image_updater.domain import naming
from image_updater.handlers import check, create, report
from image_updater.models import FOLLOW, ImageError, ImageSummary
from image_updater.update import events as update_events
from image_updater.update.task import UpdateTask
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import capture_published_events, published_events
from tests.handlers import steps
from tests.handlers.conftest import (
    DERIVED,
    EXECUTION_ARN,
    IMAGE_ARN,
    ROOT,
    START,
    LambdaContext,
    ManualClock,
    emitted_metrics,
    lambda_error,
    lineage_tags,
    new_task,
)

NEW_ARN = IMAGE_ARN + DERIVED
DETAIL_KEYS = {
    "image",
    "lineageRoot",
    "newImageName",
    "newImageArn",
    "sourceImageName",
    "executionArn",
    "outcome",
    "reason",
}


@pytest.fixture(autouse=True)
def subscriber(ledger_table: str) -> Iterator[None]:
    """A rule for the updater's source, and a fresh events client, in this test's moto."""
    events.default_client.cache_clear()
    capture_published_events()
    yield
    events.default_client.cache_clear()


class FakeEvents:
    """An EventBridge that answers PutEvents with `response`, or raises `error`."""

    def __init__(
        self, response: Mapping[str, Any] | None = None, error: Exception | None = None
    ) -> None:
        self.response, self.error = response, error
        self.entries: list[Mapping[str, Any]] = []

    def put_events(self, *, Entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
        self.entries += Entries
        if self.error:
            raise self.error
        return self.response or {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}


def install(monkeypatch: pytest.MonkeyPatch, client: FakeEvents) -> None:
    monkeypatch.setattr(events, "default_client", cache(lambda: client))


REFUSED_ENTRY = {
    "FailedEntryCount": 1,
    "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "Try again later."}],
}


def finished_update(lambda_context: LambdaContext, clock: ManualClock) -> dict[str, Any]:
    """Given-step: an update run to its end, its start event read so only the outcome is left."""
    task = steps.run_update(lambda_context, clock)
    published_events()
    return task


def reported(
    task: dict[str, Any], lambda_context: LambdaContext
) -> tuple[dict[str, Any], dict[str, Any]]:
    """When-step: the report step on `task`; the e-mail it wrote and the one event published."""
    mail = report.handler(steps.report_event(task), lambda_context)
    return mail, only_event()


def only_event() -> dict[str, Any]:
    (event,) = published_events()
    return event


# --- the create step ---------------------------------------------------------------------------


def test_a_started_update_is_published_with_the_new_image(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the check step chose to update the root
    steps.old_root(sim)
    task = check.handler(new_task(), lambda_context)

    # When the create step starts the update
    create.handler(task, lambda_context)

    # Then one event announces it, about the new image, with the documented detail
    event = only_event()
    assert (event["source"], event["detail-type"]) == (events.SOURCE, "Image Update Started")
    assert event["resources"] == [NEW_ARN]
    assert event["detail"] == {
        "image": ROOT,
        "lineageRoot": ROOT,
        "newImageName": DERIVED,
        "newImageArn": NEW_ARN,
        "sourceImageName": ROOT,
        "executionArn": EXECUTION_ARN,
        "outcome": "STARTED",
        "reason": None,
    }


def test_following_another_runs_update_publishes_nothing(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given another run (started five minutes earlier) started an update after check looked
    steps.old_root(sim)
    task = check.handler(new_task(), lambda_context)
    theirs = naming.derived_image_name(ROOT, START - timedelta(minutes=5))
    sim.add_image(theirs, state="PENDING", tags=lineage_tags())

    # When the create step runs
    result = create.handler(task, lambda_context)

    # Then it follows their update and announces no start of its own
    assert (result["action"], result["newImageName"]) == (FOLLOW, theirs)
    assert published_events() == []


# --- the report step ---------------------------------------------------------------------------


def test_a_successful_update_is_published_as_succeeded(
    sim: SimulatedAppStream, lambda_context: LambdaContext, clock: ManualClock
) -> None:
    # Given an update that finished
    steps.updated_image(sim, polls=2)
    task = finished_update(lambda_context, clock)

    # When
    mail, event = reported(task, lambda_context)

    # Then the e-mail and the event say the same
    assert mail["outcome"] == "SUCCEEDED"
    assert event["detail-type"] == "Image Update Succeeded"
    assert event["resources"] == [NEW_ARN]
    assert event["detail"] == {
        "image": ROOT,
        "lineageRoot": ROOT,
        "newImageName": DERIVED,
        "newImageArn": NEW_ARN,
        "sourceImageName": ROOT,
        "executionArn": EXECUTION_ARN,
        "outcome": "SUCCEEDED",
        "reason": None,
    }


def test_a_failed_build_is_published_with_appstreams_reason(
    sim: SimulatedAppStream, lambda_context: LambdaContext, clock: ManualClock
) -> None:
    # Given AppStream failed the update
    steps.updated_image(sim, **steps.NO_CAPACITY)
    task = finished_update(lambda_context, clock)

    # When
    _, event = reported(task, lambda_context)

    # Then
    assert event["detail-type"] == "Image Update Failed"
    assert event["detail"]["outcome"] == "FAILED"
    assert event["detail"]["newImageArn"] == NEW_ARN
    assert event["detail"]["reason"] == (
        "IMAGE_BUILDER_NOT_AVAILABLE: No capacity for the image builder.; "
        "IMAGE_BUILDER_NOT_AVAILABLE: Insufficient capacity"
    )


def test_a_caught_error_is_published_as_failed_with_a_short_reason(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the create step failed on the image quota (nothing was built)
    steps.old_root(sim)
    sim.set_quota(images=1)
    task = check.handler(new_task(), lambda_context)
    raised = steps.raised_by(create.handler, task, lambda_context)
    error = lambda_error(raised.value)

    # When
    _, event = reported({**task, "error": error}, lambda_context)

    # Then the reason is the error's name and AppStream's message, not Lambda's JSON
    assert event["detail-type"] == "Image Update Failed"
    assert event["resources"] == []
    detail = event["detail"]
    assert (detail["newImageName"], detail["newImageArn"]) == (None, None)
    assert detail["reason"].startswith("UpdateQuotaExceeded: ")
    assert "LimitExceededException" in detail["reason"]
    assert "errorType" not in detail["reason"]


def test_a_reason_is_capped_at_500_characters(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given a caught error with a very long cause
    steps.old_root(sim)
    task = check.handler(new_task(), lambda_context)
    error = {"Error": "UpdateNotPermitted", "Cause": "x" * 100_000}

    # When
    _, event = reported({**task, "error": error}, lambda_context)

    # Then
    reason = event["detail"]["reason"]
    assert len(reason) == events.REASON_MAX
    assert reason.startswith("UpdateNotPermitted: xxx")
    assert "more characters]" in reason


def test_a_timed_out_update_is_published_as_timed_out(
    sim: SimulatedAppStream, lambda_context: LambdaContext, clock: ManualClock
) -> None:
    # Given an update that outlasted the polls allowed
    steps.updated_image(sim, polls=50)
    task = finished_update(lambda_context, clock)

    # When
    _, event = reported(task, lambda_context)

    # Then
    assert event["detail-type"] == "Image Update Timed Out"
    assert event["detail"]["outcome"] == "TIMED_OUT"
    assert event["detail"]["newImageName"] == DERIVED
    assert event["detail"]["reason"].startswith("Still ")
    assert "after 1 h (maxUpdateHours)" in event["detail"]["reason"]


def test_a_lost_track_of_update_is_published_as_unconfirmed(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given the poll step could not reach AppStream while the image was building
    steps.old_root(sim)
    task = create.handler(check.handler(new_task(), lambda_context), lambda_context)
    published_events()
    error = {"Error": "AppStreamThrottled", "Cause": "Rate exceeded"}

    # When
    mail, event = reported({**task, "error": error}, lambda_context)

    # Then the update may well be fine: neither e-mail nor event calls it failed
    assert mail["outcome"] == "CHECK_FAILED"
    assert event["detail-type"] == "Image Update Unconfirmed"
    assert event["detail"]["outcome"] == "CHECK_FAILED"
    assert event["detail"]["newImageName"] == DERIVED
    assert event["detail"]["reason"] == "AppStreamThrottled: Rate exceeded"


def test_no_update_and_a_refused_run_publish_nothing(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given a run with nothing to update (e-mailed with notifyNoUpdate) and a refused run
    sim.add_image(ROOT, created_time=START - timedelta(days=90), updates_available=False)
    no_update = check.handler(new_task(), lambda_context)
    refused = {"error": {"Error": "InvalidExecutionInput", "Cause": "no images"}}

    # When both are reported
    mails = [report.handler(steps.report_event(t), lambda_context) for t in (no_update, refused)]

    # Then both e-mails are written, and no event is published
    assert [m["outcome"] for m in mails] == ["NO_UPDATE", "REJECTED"]
    assert published_events() == []


# --- when publishing fails -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "expected_error"),
    [
        (FakeEvents(response=REFUSED_ENTRY), "InternalFailure"),
        (
            FakeEvents(
                error=ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
                    "PutEvents",
                )
            ),
            "AccessDeniedException",
        ),
    ],
    ids=["failed-entry", "access-denied"],
)
def test_a_failed_publish_still_writes_the_email_and_is_counted(
    sim: SimulatedAppStream,
    lambda_context: LambdaContext,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    client: FakeEvents,
    expected_error: str,
) -> None:
    # Given an update that finished, and EventBridge that refuses the event
    steps.updated_image(sim, polls=1)
    task = steps.run_update(lambda_context, clock)
    install(monkeypatch, client)
    capsys.readouterr()

    # When
    mail = report.handler(steps.report_event(task), lambda_context)

    # Then the e-mail is written all the same
    assert mail["subject"] == f"AppStream image ready: {DERIVED}"
    # and the step asked once, logged a warning and counted the loss
    assert [e["DetailType"] for e in client.entries] == ["Image Update Succeeded"]
    out = capsys.readouterr().out
    assert emitted_metrics(out)["EventsNotPublished"] == 1
    (warning,) = [r for r in caplog.records if r.getMessage() == "Event not published"]
    assert warning.levelname == "WARNING"
    assert (warning.detail_type, warning.error) == ("Image Update Succeeded", expected_error)


def test_a_failed_publish_does_not_fail_the_create_step(
    sim: SimulatedAppStream,
    lambda_context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given EventBridge refuses every entry
    steps.old_root(sim)
    task = check.handler(new_task(), lambda_context)
    install(monkeypatch, FakeEvents(response=REFUSED_ENTRY))
    capsys.readouterr()

    # When
    result = create.handler(task, lambda_context)

    # Then the update is started and followed as ever
    assert (result["action"], result["newImageName"]) == (FOLLOW, DERIVED)
    metrics = emitted_metrics(capsys.readouterr().out)
    assert (metrics["UpdatesStarted"], metrics["EventsNotPublished"]) == (1, 1)


@pytest.mark.parametrize(
    ("client", "accepted"),
    [(FakeEvents(), True), (FakeEvents(response=REFUSED_ENTRY), False)],
    ids=["accepted", "failed-entry"],
)
def test_publish_sends_one_entry_and_says_whether_it_was_taken(
    monkeypatch: pytest.MonkeyPatch, client: FakeEvents, accepted: bool
) -> None:
    # Given
    install(monkeypatch, client)
    detail = {"image": ROOT, "newImageArn": NEW_ARN}

    # When
    result = events.publish("Image Update Started", detail)

    # Then one entry of the updater's source, about the image, went to the default bus
    assert result is accepted
    assert client.entries == [
        {
            "Source": "appstream-image-updater",
            "DetailType": "Image Update Started",
            "Detail": json.dumps(detail, separators=(",", ":")),
            "Resources": [NEW_ARN],
        }
    ]


def test_an_oversized_or_unserializable_detail_is_not_sent_and_never_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given
    client = FakeEvents()
    install(monkeypatch, client)

    # When / Then
    assert events.publish("Images Deleted", {"reason": "x" * events.ENTRY_MAX_BYTES}) is False
    assert events.publish("Images Deleted", {"deletedImages": "not a list"}) is False
    assert client.entries == []


def test_importing_the_handlers_creates_no_client_and_report_loads_no_boto3() -> None:
    # Given a fresh interpreter, as a Lambda cold start is
    probe = (
        "import sys\n"
        "from image_updater.handlers import report\n"
        "print('boto3' in sys.modules)\n"
        "from image_updater.handlers import create\n"
        "from image_updater import events, ledger\n"
        "from image_updater.integrations.appstream import client as appstream\n"
        "print(sum(m.default_client.cache_info().currsize for m in (appstream, events, ledger)))\n"
    )

    # When the handlers are imported
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(["lambdas", "."])},
    )

    # Then the report step has not imported boto3 (only publishing does), and no step has
    # built a client
    assert done.stdout.split() == ["False", "0"]


# --- the details, one function per kind (pure) -----------------------------------------------


def _task(**changes: Any) -> UpdateTask:
    base = UpdateTask(
        root_image_name=ROOT,
        execution_id=EXECUTION_ARN,
        started_at="2026-01-05T03:00:00.000Z",
        new_image_name=DERIVED,
        source=ImageSummary(name=ROOT, arn=IMAGE_ARN + ROOT, state="AVAILABLE"),
    )
    return base.evolve(**changes)


def test_every_update_event_carries_the_same_keys() -> None:
    building = ImageSummary(name=DERIVED, arn=NEW_ARN, state="PENDING")
    task = _task(image=building)
    details = [
        update_events.update_started(task),
        update_events.update_succeeded(task, EXECUTION_ARN),
        update_events.update_failed(task, EXECUTION_ARN),
        update_events.update_timed_out(task, EXECUTION_ARN, 12),
        update_events.update_unconfirmed(task, EXECUTION_ARN, None),
    ]
    assert [set(d) for d in details] == [DETAIL_KEYS] * 5
    assert [d["outcome"] for d in details] == [
        "STARTED",
        "SUCCEEDED",
        "FAILED",
        "TIMED_OUT",
        "CHECK_FAILED",
    ]
    assert update_events.update_timed_out(task, EXECUTION_ARN, 12)["reason"] == (
        "Still PENDING after 12 h (maxUpdateHours); AppStream may still finish it, "
        "and a later run reports it."
    )


def test_a_failed_image_without_a_reason_code_still_says_why() -> None:
    failed = ImageSummary(
        name=DERIVED,
        arn=NEW_ARN,
        state="FAILED",
        errors=(ImageError(code="INTERNAL_ERROR", message="Boom"),),
    )
    bare = ImageSummary(name=DERIVED, arn=NEW_ARN, state="FAILED")
    assert update_events.update_failed(_task(image=failed), EXECUTION_ARN)["reason"] == (
        "INTERNAL_ERROR: Boom"
    )
    assert update_events.update_failed(_task(image=bare), EXECUTION_ARN)["reason"] == (
        "The image is FAILED."
    )


@pytest.mark.parametrize(
    ("outcome", "detail_type"),
    [
        ("SUCCEEDED", "Image Update Succeeded"),
        ("FAILED", "Image Update Failed"),
        ("TIMED_OUT", "Image Update Timed Out"),
        ("CHECK_FAILED", "Image Update Unconfirmed"),
        ("NO_UPDATE", None),
        ("REJECTED", None),
        ("REPORTED_ELSEWHERE", None),
    ],
)
def test_outcome_event_maps_each_reported_outcome(outcome: str, detail_type: str | None) -> None:
    found = update_events.outcome_event(
        _task(), outcome, EXECUTION_ARN, error=None, max_update_hours=12
    )
    assert (found[0] if found else None) == detail_type
    # and a dry run never publishes, whatever its outcome
    dry = update_events.outcome_event(
        _task(dry_run=True), outcome, EXECUTION_ARN, error=None, max_update_hours=12
    )
    assert dry is None


def test_images_deleted_lists_at_most_fifty_with_their_arns() -> None:
    deleted = [
        ImageSummary(name=f"{ROOT}-{i:03d}", arn=f"{IMAGE_ARN}{ROOT}-{i:03d}", state="AVAILABLE")
        for i in range(53)
    ]
    detail = events.images_deleted(ROOT, deleted, EXECUTION_ARN)
    assert len(detail["deletedImages"]) == 50
    assert detail["deletedImages"][0] == {"name": f"{ROOT}-000", "arn": f"{IMAGE_ARN}{ROOT}-000"}
    assert (detail["moreDeleted"], detail["outcome"], detail["image"]) == (3, "DELETED", ROOT)
    assert len(json.dumps(detail)) < 16 * 1024


def test_schedule_details_name_the_schedule_and_why() -> None:
    paused = events.schedule_paused(
        "updater-schedule",
        consecutive_failed_runs=3,
        execution_arn=EXECUTION_ARN,
        reason="3 scheduled runs in a row failed." + "!" * 1000,
    )
    resumed = events.schedule_resumed("updater-schedule")
    assert paused["scheduleName"] == resumed["scheduleName"] == "updater-schedule"
    assert (paused["outcome"], paused["consecutiveFailedRuns"]) == ("PAUSED", 3)
    assert len(paused["reason"]) == events.REASON_MAX
    assert resumed == {
        "scheduleName": "updater-schedule",
        "consecutiveFailedRuns": 0,
        "executionArn": None,
        "outcome": "RESUMED",
        "reason": None,
    }


def test_detail_types_are_distinct_and_fit_eventbridge() -> None:
    assert len(set(events.DETAIL_TYPES)) == len(events.DETAIL_TYPES) == 16
    assert all(0 < len(t) <= 128 for t in events.DETAIL_TYPES)  # DetailType's maximum
    assert not events.SOURCE.startswith("aws.")
