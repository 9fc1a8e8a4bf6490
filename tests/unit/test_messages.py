"""The e-mails: a subject SNS accepts, and a body that says what happened and what to do."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from image_updater.domain import messages
from image_updater.domain.messages import MessageContext
from image_updater.models import (
    FAILED,
    FOLLOW,
    NO_UPDATE,
    REJECTED,
    SUCCEEDED,
    TIMED_OUT,
    UPDATE,
    ImageError,
    ImageSummary,
    Notification,
)
from image_updater.update.messages import compose, hints
from image_updater.update.messages.run_refused import compose_rejected_run
from image_updater.update.task import UpdateTask

EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:ImageUpdater:run-1"
NOW = datetime(2026, 1, 5, 5, 30, tzinfo=UTC)
NEW_NAME = "SalesApps-20260105-030000"
NEW_ARN = f"arn:aws:appstream:us-east-1:123456789012:image/{NEW_NAME}"
LONGEST_NAME = "R" + "x" * 100


def context(
    partition: str = "aws", region: str = "us-east-1", arn: str = EXECUTION_ARN
) -> MessageContext:
    return MessageContext(
        region=region, partition=partition, execution_arn=arn, now=NOW, max_update_hours=12
    )


def summary(
    name: str = NEW_NAME,
    state: str = "AVAILABLE",
    *,
    reason_code: str | None = None,
    reason_message: str | None = None,
    errors: tuple[ImageError, ...] = (),
) -> ImageSummary:
    return ImageSummary(
        name=name,
        arn=f"arn:aws:appstream:us-east-1:123456789012:image/{name}",
        state=state,
        created_time="2026-01-05T03:00:00+00:00",
        platform="WINDOWS_SERVER_2022",
        agent_version="1.1.1001",
        reason_code=reason_code,
        reason_message=reason_message,
        errors=errors,
    )


SOURCE = summary("SalesApps")


def task(root: str = "SalesApps", image: ImageSummary | None = None, **changes: Any) -> UpdateTask:
    base = UpdateTask(
        root_image_name=root,
        execution_id=EXECUTION_ARN,
        started_at="2026-01-05T03:00:00.000Z",
        action=UPDATE,
        source=SOURCE,
        new_image_name=image.name if image else NEW_NAME,
        image=image,
        polls=15,
    )
    return base.evolve(**changes)


def lambda_cause(error_type: str, message: str) -> str:
    """What a Catch rule puts in Cause when a Python Lambda raised."""
    return json.dumps(
        {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": "0f6d3c1e-0000-4000-8000-000000000000",
            "stackTrace": ['  File "/var/task/image_updater/handlers/check.py", line 12\n'],
        }
    )


def rows(body: str) -> dict[str, str]:
    """The 'Label:   value' lines of the body's table, by label."""
    found = (re.fullmatch(r"([A-Z][A-Za-z ]+):\s+(\S.*)", line) for line in body.splitlines())
    return {match[1]: match[2] for match in found if match}


def assert_valid_subject(notification: Notification) -> None:
    subject = notification.subject
    assert len(subject) < 100
    assert subject.isascii()
    assert subject.isprintable()
    assert "\n" not in subject


# --- success ---------------------------------------------------------------------------------


def headline(mail: messages.Notification) -> tuple[str, bool, str, str | None]:
    """What the e-mail's message attributes say: outcome, failed, image, new image name."""
    return (mail.outcome, mail.failed, mail.image, mail.new_image_name)


def test_success_names_the_new_image_and_its_details() -> None:
    # Given an update that finished
    finished = task(image=summary(), outcome=SUCCEEDED)

    # When
    mail = compose(finished, context())

    # Then the subject names the new image and the body has the facts an admin needs
    assert_valid_subject(mail)
    assert mail.subject == f"AppStream image ready: {NEW_NAME}"
    assert NEW_ARN in mail.body
    table = rows(mail.body)
    assert table["Configured image"] == "SalesApps"
    assert table["New image"] == NEW_NAME
    assert table["New image ARN"] == NEW_ARN
    assert table["Updated from"] == "SalesApps"
    assert table["State"] == "AVAILABLE"
    assert table["Platform"] == "WINDOWS_SERVER_2022"
    assert table["Agent version"] == "1.1.1001"
    assert table["Started"] == "2026-01-05 03:00 UTC"
    assert table["Finished"] == "2026-01-05 05:30 UTC"
    assert table["Duration"] == "2 h 30 min"
    assert "What to do" not in mail.body
    assert headline(mail) == (SUCCEEDED, False, "SalesApps", NEW_NAME)


def test_subject_is_truncated_for_the_longest_name() -> None:
    # Given a new image whose name has the full 101 characters
    finished = task(root=LONGEST_NAME, image=summary(LONGEST_NAME), outcome=SUCCEEDED)

    # When
    mail = compose(finished, context())

    # Then the subject stays under SNS's limit, and the body keeps the whole name
    assert_valid_subject(mail)
    assert len(mail.subject) == messages.SUBJECT_MAX
    assert mail.subject.endswith("...")
    assert LONGEST_NAME in mail.body


@pytest.mark.parametrize("outcome", [SUCCEEDED, NO_UPDATE, TIMED_OUT, FAILED])
def test_every_subject_is_valid_for_the_longest_root(outcome: str) -> None:
    # Given / When
    mail = compose(task(root=LONGEST_NAME, image=summary(LONGEST_NAME), outcome=outcome), context())

    # Then
    assert_valid_subject(mail)


def test_subject_replaces_characters_sns_refuses() -> None:
    # Given a root name that (somehow) has a non-ASCII character and a newline
    mail = compose(task(root="Sälès\nApps", image=summary(), outcome=FAILED), context())

    # When / Then
    assert_valid_subject(mail)
    assert "S?l?s?Apps" in mail.subject


# --- no update, timed out --------------------------------------------------------------------


def test_no_update_names_the_newest_image_of_the_lineage() -> None:
    # Given the newest image of the lineage is an earlier update
    newest = summary("SalesApps-20260101-030000")
    checked = task(action=NO_UPDATE, source=newest, new_image_name=None, outcome=NO_UPDATE)

    # When
    mail = compose(checked, context())

    # Then
    assert_valid_subject(mail)
    assert mail.subject == "AppStream image up to date: SalesApps"
    assert "No updates are available for SalesApps-20260101-030000" in mail.body
    assert "lineage of SalesApps" in mail.body
    assert (mail.outcome, mail.failed, mail.new_image_name) == (NO_UPDATE, False, None)


def test_timed_out_says_the_update_may_still_finish() -> None:
    # Given the update was still building when the run gave up
    running = task(image=summary(state="PENDING"), outcome=TIMED_OUT)

    # When
    mail = compose(running, context())

    # Then
    assert_valid_subject(mail)
    assert mail.subject == "AppStream image update still running: SalesApps"
    assert "after 12 h (maxUpdateHours)" in mail.body
    assert rows(mail.body)["State"] == "PENDING"
    assert f"What to do: {hints.REMEDIATION_HINTS[TIMED_OUT]}" in mail.body
    assert (mail.outcome, mail.failed, mail.new_image_name) == (TIMED_OUT, True, NEW_NAME)


# --- failures --------------------------------------------------------------------------------


def failed_build_mail(**reason: Any) -> messages.Notification:
    """The e-mail for an update AppStream failed (`reason`: its reason code and message and
    the image errors, as ImageSummary names them)."""
    return compose(task(image=summary(state="FAILED", **reason), outcome=FAILED), context())


def test_failed_image_reports_the_reason_every_image_error_and_a_hint() -> None:
    # Given AppStream failed the build with a reason and two image errors
    errors = (
        ImageError("IMAGE_UPDATE_FAILURE", "Windows Update failed", "2026-01-05T04:00:00+00:00"),
        ImageError("DISK_FULL", "No space left on C:", "2026-01-05T04:01:00Z"),
    )

    # When the report step writes its e-mail
    mail = failed_build_mail(
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message="The image update failed.",
        errors=errors,
    )

    # Then
    assert_valid_subject(mail)
    assert mail.subject == "AppStream image update FAILED: SalesApps"
    assert rows(mail.body)["Reason"] == "IMAGE_UPDATE_FAILURE: The image update failed."
    assert "  - IMAGE_UPDATE_FAILURE: Windows Update failed (2026-01-05 04:00 UTC)" in mail.body
    assert "  - DISK_FULL: No space left on C: (2026-01-05 04:01 UTC)" in mail.body
    assert hints.REMEDIATION_HINTS["IMAGE_UPDATE_FAILURE"] in mail.body
    assert (mail.outcome, mail.failed, mail.new_image_name) == (FAILED, True, NEW_NAME)


def test_failed_image_hint_falls_back_to_an_image_error_code() -> None:
    # Given an unknown reason code, but a known code among the image errors
    # When the report step writes its e-mail
    mail = failed_build_mail(
        reason_code="SOMETHING_NEW",
        reason_message="?",
        errors=(ImageError("IMAGE_BUILDER_NOT_AVAILABLE", "no capacity"),),
    )

    # Then
    assert rows(mail.body)["Reason"] == "SOMETHING_NEW: ?"
    assert "  - IMAGE_BUILDER_NOT_AVAILABLE: no capacity (unknown)" in mail.body
    assert hints.REMEDIATION_HINTS["IMAGE_BUILDER_NOT_AVAILABLE"] in mail.body


def test_failed_image_without_reason_says_unknown() -> None:
    # Given / When
    mail = failed_build_mail()

    # Then
    assert "\nReason:" in mail.body
    assert rows(mail.body)["Reason"] == "UNKNOWN"


def test_unknown_codes_get_the_generic_hint() -> None:
    # Given codes no hint exists for
    # When the report step writes its e-mail
    mail = failed_build_mail(
        reason_code="BRAND_NEW_CODE",
        reason_message="new",
        errors=(ImageError("ANOTHER_NEW_CODE", "also new"),),
    )

    # Then
    assert f"What to do: {hints._GENERIC_HINT}" in mail.body
    for hint in hints.REMEDIATION_HINTS.values():
        assert hint not in mail.body


def test_caught_error_extracts_the_lambda_error_message_from_the_cause() -> None:
    # Given a step raised, and a Catch rule captured Lambda's JSON error
    error = {
        "Error": "UpdateQuotaExceeded",
        "Cause": lambda_cause("UpdateQuotaExceeded", "LimitExceededException: too many images"),
    }

    # When
    mail = compose(task(image=None, outcome=None), context(), error)

    # Then the body has the error name, the message (not the JSON) and the hint for it
    assert_valid_subject(mail)
    assert mail.subject == "AppStream image update FAILED: SalesApps"
    assert rows(mail.body)["Error"] == "UpdateQuotaExceeded"
    assert "What happened: LimitExceededException: too many images" in mail.body
    assert "stackTrace" not in mail.body
    assert hints.REMEDIATION_HINTS["UpdateQuotaExceeded"] in mail.body
    assert (mail.outcome, mail.failed) == (FAILED, True)


def test_caught_error_wins_over_an_outcome_already_set() -> None:
    # Given the task had succeeded before a later step failed on the image itself
    error = {"Error": "ImageDisappeared", "Cause": "The image was deleted."}

    # When
    mail = compose(task(image=summary(), outcome=SUCCEEDED), context(), error)

    # Then it is reported as a failure with the plain-text cause
    assert mail.outcome == FAILED
    assert "What happened: The image was deleted." in mail.body
    assert hints.REMEDIATION_HINTS["ImageDisappeared"] in mail.body


def test_caught_error_with_a_cause_that_only_looks_like_json_keeps_it() -> None:
    # Given a cause that starts like JSON but is not
    error = {"Error": "Mystery", "Cause": "{not json"}

    # When
    mail = compose(task(outcome=None, action=FOLLOW), context(), error)

    # Then the cause is kept as it is, and the unknown error gets the generic hint
    assert "What happened: {not json" in mail.body
    assert f"What to do: {hints._GENERIC_HINT}" in mail.body


def test_caught_error_name_hint_wins_over_the_image_reason() -> None:
    # Given the image failed, and the error name has a hint of its own
    failed = summary(state="FAILED", reason_code="INTERNAL_ERROR", reason_message="boom")
    error = {"Error": "ImageDisappeared", "Cause": lambda_cause("ImageDisappeared", "gone")}

    # When
    mail = compose(task(image=failed), context(), error)

    # Then
    assert hints.REMEDIATION_HINTS["ImageDisappeared"] in mail.body
    assert hints.REMEDIATION_HINTS["INTERNAL_ERROR"] not in mail.body


# --- console links ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partition", "region", "console"),
    [
        ("aws", "eu-west-1", "https://eu-west-1.console.aws.amazon.com"),
        ("aws-cn", "cn-north-1", "https://cn-north-1.console.amazonaws.cn"),
        ("aws-us-gov", "us-gov-west-1", "https://us-gov-west-1.console.amazonaws-us-gov.com"),
    ],
)
def test_console_links_use_the_partition_domain(partition: str, region: str, console: str) -> None:
    # Given an execution in that partition and Region
    arn = f"arn:{partition}:states:{region}:123456789012:execution:ImageUpdater:run 1"
    ctx = context(partition, region, arn)

    # When
    mail = compose(task(image=summary(), outcome=SUCCEEDED), ctx)

    # Then both links point at that console, and the execution ARN is URL-safe
    images_url = f"{console}/appstream2/home?region={region}#/images"
    execution_url = (
        f"{console}/states/home?region={region}#/v2/executions/details/"
        f"arn:{partition}:states:{region}:123456789012:execution:ImageUpdater:run%201"
    )
    assert images_url in mail.body
    assert execution_url in mail.body


# --- refused runs ----------------------------------------------------------------------------


def test_rejected_run_explains_the_invalid_input() -> None:
    # Given the plan step refused the input
    error = {
        "Error": "InvalidExecutionInput",
        "Cause": lambda_cause("InvalidExecutionInput", "The run was not started: bad input."),
    }

    # When
    mail = compose_rejected_run(context(), error)

    # Then
    assert_valid_subject(mail)
    assert mail.subject == "AppStream image updater: run refused (invalid input)"
    assert "Error: InvalidExecutionInput" in mail.body
    assert "What happened: The run was not started: bad input." in mail.body
    assert hints.REMEDIATION_HINTS["InvalidExecutionInput"] in mail.body
    assert EXECUTION_ARN in mail.body
    assert headline(mail) == (REJECTED, True, "-", None)


def test_rejected_run_for_another_reason_says_it_could_not_start() -> None:
    # Given the plan step failed for a reason other than the input
    error = {"Error": "Lambda.ServiceException", "Cause": "Lambda is unavailable"}

    # When
    mail = compose_rejected_run(context(), error)

    # Then
    assert mail.subject == "AppStream image updater: run could not start"
    assert "What happened: Lambda is unavailable" in mail.body
    assert f"What to do: {hints._GENERIC_HINT}" in mail.body


def test_rejected_run_without_a_cause_does_not_invent_one() -> None:
    # Given a Catch that captured only an error name
    mail = compose_rejected_run(context(), {"Error": "States.Timeout"})

    # Then the e-mail says what it knows and no "None"
    assert "Error: States.Timeout" in mail.body
    assert "What happened" not in mail.body and "None" not in mail.body


def test_notification_event_has_every_key_even_when_null() -> None:
    # Given / When
    event = compose(task(image=None, outcome=NO_UPDATE, action=NO_UPDATE), context()).to_event()

    # Then the state machine's paths always find their keys
    assert set(event) == {"subject", "body", "outcome", "image", "failed", "newImageName"}
    assert event["newImageName"] is None


# --- what every e-mail is made of ------------------------------------------------------------


def test_an_email_leaves_empty_parts_out_and_keeps_one_blank_line_between_the_others() -> None:
    # Given parts of an e-mail, one of them with nothing to say
    # When
    mail = messages.email("Subject", "First.", "", "Second\nline.", outcome=FAILED, image="Img")

    # Then the body has the others one blank line apart, and ends with one newline
    assert mail.body == "First.\n\nSecond\nline.\n"
    assert (mail.subject, mail.outcome, mail.image, mail.failed, mail.new_image_name) == (
        "Subject",
        FAILED,
        "Img",
        False,
        None,
    )


@pytest.mark.parametrize(
    "mail",
    [
        compose(task(image=summary(), outcome=SUCCEEDED), context()),
        compose(task(image=summary(), outcome=SUCCEEDED, action="LATE_REPORT"), context()),
        compose(task(image=None, outcome=NO_UPDATE, action=NO_UPDATE), context()),
        compose(task(image=summary(state="PENDING"), outcome=TIMED_OUT), context()),
        compose(task(image=summary(state="FAILED"), outcome=FAILED), context()),
        compose(task(), context(), {"Error": "States.Timeout"}),
        compose(task(action=FOLLOW, image=summary()), context(), {"Error": "AppStreamThrottled"}),
        compose(task(root_missing=True, image=summary(), outcome=SUCCEEDED), context()),
        compose_rejected_run(context(), {"Error": "InvalidExecutionInput"}),
    ],
    ids=lambda mail: mail.subject,
)
def test_no_email_has_an_empty_paragraph(mail: Notification) -> None:
    assert "\n\n\n" not in mail.body
    assert mail.body.endswith("\n") and not mail.body.endswith("\n\n")


def test_the_context_of_a_run_is_read_from_its_arn() -> None:
    # Given a run in the China partition
    arn = "arn:aws-cn:states:cn-north-1:123456789012:execution:ImageUpdater:run-1"

    # When
    ctx = MessageContext.of_run(arn, NOW, 12)

    # Then its console links go to that partition and Region
    assert (ctx.partition, ctx.region, ctx.execution_arn) == ("aws-cn", "cn-north-1", arn)
    assert ctx.console == "https://cn-north-1.console.amazonaws.cn"
