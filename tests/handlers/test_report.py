"""The report handler: the e-mail for an image's outcome, a caught error, or a refused run."""

from __future__ import annotations

from typing import Any

import pytest

from image_updater.handlers import check, create, plan, report
from image_updater.update.messages.hints import REMEDIATION_HINTS
from rehearsal.appstream import SimulatedAppStream
from tests.handlers import steps
from tests.handlers.conftest import (
    DERIVED,
    EXECUTION_ARN,
    IMAGE_ARN,
    ROOT,
    LambdaContext,
    ManualClock,
    emitted_metrics,
    lambda_error,
    new_task,
)

NOTIFICATION_KEYS = {"subject", "body", "outcome", "image", "failed", "newImageName"}


def caught(step: Any, event: Any, lambda_context: LambdaContext) -> dict[str, str]:
    """Run a step that must fail; return what a Catch rule would capture."""
    return lambda_error(steps.raised_by(step, event, lambda_context).value)


def test_a_successful_update_is_reported_with_the_new_image(
    sim: SimulatedAppStream, lambda_context: LambdaContext, clock: ManualClock
) -> None:
    # Given an update that finished after two status checks
    steps.updated_image(sim, polls=2)
    task = steps.run_update(lambda_context, clock)

    # When
    mail = report.handler(steps.report_event(task), lambda_context)

    # Then (with the report this run claimed, which the workflow marks sent after SNS)
    assert set(mail) == NOTIFICATION_KEYS | {"reportClaim"}
    assert mail["reportClaim"]["pk"] == ROOT
    assert mail["reportClaim"]["sk"] == f"image#{DERIVED}"
    assert mail["subject"] == f"AppStream image ready: {DERIVED}"
    assert (mail["outcome"], mail["failed"], mail["image"], mail["newImageName"]) == (
        "SUCCEEDED",
        False,
        ROOT,
        DERIVED,
    )
    body = mail["body"]
    assert IMAGE_ARN + DERIVED in body
    assert "WINDOWS_SERVER_2022" in body
    assert "1.1.1001" in body
    assert "1 h 30 min" in body  # two polls, 45 minutes apart
    assert "https://us-east-1.console.aws.amazon.com/appstream2/home?region=us-east-1" in body
    assert EXECUTION_ARN in body


def test_a_caught_error_is_reported_as_a_failure_with_its_message(
    sim: SimulatedAppStream, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the create step failed on the image quota, and the Catch rule added the error
    steps.old_root(sim)
    sim.set_quota(images=1)
    task = check.handler(new_task(), lambda_context)
    error = caught(create.handler, task, lambda_context)
    assert error["Error"] == "UpdateQuotaExceeded"
    capsys.readouterr()

    # When
    mail = report.handler(steps.report_event({**task, "error": error}), lambda_context)

    # Then the e-mail names the error, quotes AppStream's message (not Lambda's JSON), and helps
    assert mail["subject"] == f"AppStream image update FAILED: {ROOT}"
    assert (mail["outcome"], mail["failed"], mail["image"]) == ("FAILED", True, ROOT)
    body = mail["body"]
    assert "UpdateQuotaExceeded" in body
    assert (
        "What happened: AppStream refused the update: LimitExceededException: The number of "
        "images exceeds" in body
    )
    # and explains the quota: which one, what the account holds, where to raise it
    assert "Quota reached: images (default 10 per Region)." in body
    assert "The account holds 1 image of its own." in body
    assert "servicequotas/home/services/appstream2/quotas" in body
    assert "errorType" not in body
    assert REMEDIATION_HINTS["UpdateQuotaExceeded"] in body
    assert emitted_metrics(capsys.readouterr().out)["UpdatesFailed"] == 1


def test_a_failed_build_is_reported_with_appstreams_reason(
    sim: SimulatedAppStream, lambda_context: LambdaContext, clock: ManualClock
) -> None:
    # Given AppStream failed the update
    steps.updated_image(sim, **steps.NO_CAPACITY)
    task = steps.run_update(lambda_context, clock)

    # When
    mail = report.handler(steps.report_event(task), lambda_context)

    # Then
    assert (mail["outcome"], mail["failed"], mail["newImageName"]) == ("FAILED", True, DERIVED)
    assert "IMAGE_BUILDER_NOT_AVAILABLE: No capacity for the image builder." in mail["body"]
    assert "IMAGE_BUILDER_NOT_AVAILABLE: Insufficient capacity" in mail["body"]
    assert REMEDIATION_HINTS["IMAGE_BUILDER_NOT_AVAILABLE"] in mail["body"]


def test_a_timed_out_update_is_reported_as_a_failure(
    sim: SimulatedAppStream, lambda_context: LambdaContext, clock: ManualClock
) -> None:
    # Given an update that outlasted the polls allowed
    steps.updated_image(sim, polls=50)
    task = steps.run_update(lambda_context, clock)
    assert task["outcome"] == "TIMED_OUT"

    # When
    mail = report.handler(steps.report_event(task), lambda_context)

    # Then
    assert mail["subject"] == f"AppStream image update still running: {ROOT}"
    assert mail["failed"] is True
    assert "after 1 h (maxUpdateHours)" in mail["body"]


def test_a_refused_run_is_reported_without_an_image(
    sim: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given a hand-started run whose input the plan step refused
    run_input = {"image": ["ImgA"]}
    error = caught(plan.handler, run_input, lambda_context)

    # When the report step gets the state as the Catch left it (the error only)
    mail = report.handler(steps.report_event({"error": error}), lambda_context)

    # Then
    assert mail["subject"] == "AppStream image updater: run refused (invalid input)"
    assert (mail["outcome"], mail["failed"], mail["image"], mail["newImageName"]) == (
        "REJECTED",
        True,
        "-",
        None,
    )
    assert "unknown field 'image'" in mail["body"]
    assert "Configured images: ImgA." in mail["body"]
    assert sim.calls == []


@pytest.mark.parametrize(
    ("partition", "region", "console"),
    [
        ("aws", "eu-central-1", "https://eu-central-1.console.aws.amazon.com"),
        ("aws-cn", "cn-northwest-1", "https://cn-northwest-1.console.amazonaws.cn"),
        ("aws-us-gov", "us-gov-east-1", "https://us-gov-east-1.console.amazonaws-us-gov.com"),
    ],
)
def test_links_point_at_the_console_of_the_executions_partition(
    lambda_context: LambdaContext, partition: str, region: str, console: str
) -> None:
    # Given an execution in another partition and Region
    arn = f"arn:{partition}:states:{region}:123456789012:execution:ImageUpdater:run-1"
    task = {**new_task(), "action": "NO_UPDATE", "outcome": "NO_UPDATE"}

    # When
    mail = report.handler(steps.report_event(task, arn), lambda_context)

    # Then
    assert f"{console}/appstream2/home?region={region}#/images" in mail["body"]
    assert f"{console}/states/home?region={region}#/v2/executions/details/{arn}" in mail["body"]
