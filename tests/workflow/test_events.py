"""The updater's own EventBridge events, through the synthesized state machine: what a rule
on the default bus receives for a run, and that a run whose events are refused still
e-mails."""

from __future__ import annotations

from functools import cache
from typing import Any
from unittest import mock

import pytest

from image_updater import events
from image_updater.domain import naming
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import ACCOUNT, REGION, Execution, WorkflowRunner
from tests.workflow.conftest import BASE_IMAGES, AddImage, Run
from tests.workflow.steps import both_images_have_an_update, imga_has_an_update_imgb_none

pytestmark = pytest.mark.workflow

IMAGE_ARN = f"arn:aws:appstream:{REGION}:{ACCOUNT}:image/"
EXECUTIONS = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:AppStreamImageUpdater:rehearsal-"


def built_image(sim: SimulatedAppStream) -> str:
    (name,) = [name for name in sim.images if name not in BASE_IMAGES]
    return name


def kinds(execution: Execution) -> list[str]:
    return [event["detail-type"] for event in execution.events]


def test_a_successful_update_publishes_started_then_succeeded(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA has updates (built in two status checks) and ImgB has none
    imga_has_an_update_imgb_none(add_image)
    sim.script_update("ImgA", polls=2)

    # When the schedule starts a run
    execution = run(runner)

    # Then a subscriber to the updater's source got the start, then the success, and
    # nothing about ImgB
    assert execution.status == "SUCCEEDED"
    new_image = built_image(sim)
    assert naming.is_derived_name("ImgA", new_image)
    assert kinds(execution) == ["Image Update Started", "Image Update Succeeded"]
    started, succeeded = execution.events
    for event in (started, succeeded):
        assert event["source"] == "appstream-image-updater"
        assert event["region"] == REGION  # (moto's queue delivery leaves out "account")
        assert event["resources"] == [IMAGE_ARN + new_image]
    # with the documented detail, both from this run
    execution_arn = started["detail"]["executionArn"]
    assert execution_arn.startswith(EXECUTIONS)
    common = {
        "image": "ImgA",
        "lineageRoot": "ImgA",
        "newImageName": new_image,
        "newImageArn": IMAGE_ARN + new_image,
        "sourceImageName": "ImgA",
        "executionArn": execution_arn,
        "reason": None,
    }
    assert started["detail"] == {**common, "outcome": "STARTED"}
    assert succeeded["detail"] == {**common, "outcome": "SUCCEEDED"}
    # and the e-mail went out as ever
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {new_image}"


def test_a_failed_update_publishes_started_then_failed_with_the_reason(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA's update ends FAILED
    imga_has_an_update_imgb_none(add_image)
    sim.script_update(
        "ImgA",
        polls=1,
        outcome="FAILED",
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message="Windows Update returned 0x80070643.",
        errors=[("INTERNAL_SERVICE_ERROR", "The builder stopped.")],
    )

    # When
    execution = run(runner)

    # Then
    assert execution.status == "FAILED"
    assert kinds(execution) == ["Image Update Started", "Image Update Failed"]
    failed = execution.events[-1]["detail"]
    assert (failed["image"], failed["outcome"]) == ("ImgA", "FAILED")
    assert failed["newImageArn"] == IMAGE_ARN + built_image(sim)
    assert failed["reason"] == (
        "IMAGE_UPDATE_FAILURE: Windows Update returned 0x80070643.; "
        "INTERNAL_SERVICE_ERROR: The builder stopped."
    )
    (email,) = execution.emails
    assert email.subject == "AppStream image update FAILED: ImgA"


def test_a_dry_run_and_a_refused_run_publish_nothing(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA has updates
    both_images_have_an_update(add_image)

    # When someone starts a dry run, and then a run with an input the workflow refuses
    dry_run = run(runner, {"images": ["ImgA"], "dryRun": True})
    refused = run(runner, {"images": "ImgA"})

    # Then neither published an event (the refusal is e-mailed, as ever)
    assert dry_run.status == "SUCCEEDED"
    assert (dry_run.events, dry_run.emails) == ([], [])
    assert refused.events == []
    assert [e.attributes["outcome"] for e in refused.emails] == ["REJECTED"]


class _RefusingEventBridge:
    """PutEvents answers that the entry failed, as EventBridge does when it is throttled."""

    def __init__(self) -> None:
        self.entries: list[Any] = []

    def put_events(self, *, Entries: Any) -> dict[str, Any]:
        self.entries += Entries
        return {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}],
        }


def test_refused_events_do_not_stop_the_update_or_its_email(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given EventBridge refuses every entry
    imga_has_an_update_imgb_none(add_image)
    sim.script_update("ImgA", polls=1)
    refusing = _RefusingEventBridge()

    # When the schedule starts a run
    with mock.patch.object(events, "default_client", cache(lambda: refusing)):
        execution = run(runner)

    # Then both events were attempted and lost, and the run went on as ever
    assert [e["DetailType"] for e in refusing.entries] == [
        "Image Update Started",
        "Image Update Succeeded",
    ]
    assert execution.events == []
    assert execution.status == "SUCCEEDED"
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {built_image(sim)}"
    assert sim.images[built_image(sim)]["State"] == "AVAILABLE"
