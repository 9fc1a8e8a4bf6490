"""Every image still gets exactly one final e-mail, through every fault: the synthesized
workflow, end to end, across runs of the same deployment (the ledger is kept between them,
as AWS keeps the table).

The faults: the claim's response lost and the SDK re-sending it; a run stopped between the
claim and the e-mail; SNS refusing for the whole send step; a month between runs, with
DynamoDB's TTL deleting what has expired; a create whose ledger write was lost; a check that
could not run while an earlier update builds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import boto3
import pytest

from image_updater.breaker.ledger import BreakerLedger
from image_updater.update.ledger import UpdateLedger
from infra.workflow import states
from rehearsal.appstream import SimulatedAppStream
from rehearsal.attacks import first_claim_response_lost
from rehearsal.runner import REGION, Invocation, WorkflowRunner
from tests.workflow.conftest import BASE_IMAGES, AddImage, Run, Timeline
from tests.workflow.steps import imga_has_an_update_imgb_none
from tests.workflow.test_across_runs import TimedOut, between_runs, run_with
from tests.workflow.test_workflow import new_images, started_updates

pytestmark = pytest.mark.workflow


def ledger_item(sim: SimulatedAppStream, image: str) -> dict[str, Any] | None:
    """The image's report item, as the last run left the table."""
    found = [i for i in sim.account_state.get("ledger", []) if i["sk"]["S"] == "image#" + image]
    return found[0] if found else None


def ttl_sweep(sim: SimulatedAppStream, now: datetime) -> None:
    """DynamoDB's TTL at work between runs: items whose expiresAt has passed are deleted
    (lazily on AWS, typically within days; here all at once)."""
    sim.account_state["ledger"] = [
        item
        for item in sim.account_state.get("ledger", [])
        if "expiresAt" not in item or int(item["expiresAt"]["N"]) >= now.timestamp()
    ]


# --- 1. the claim's response is lost, and the SDK sends the claim again --------------------------


def test_a_claim_whose_response_was_lost_still_ends_in_exactly_one_email(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA's update settles, and the response to the status check's report claim is
    # lost after DynamoDB applied it (the SDK re-sends the same conditional UpdateItem)
    imga_has_an_update_imgb_none(add_image)

    # When
    with first_claim_response_lost() as lost:
        execution = run(runner)

    # Then the re-sent claim found this run's own claim: the image was e-mailed, once
    assert len(lost) == 1
    (created,) = started_updates(sim.calls)
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {created}"
    assert execution.status == "SUCCEEDED"
    # and marked sent
    item = ledger_item(sim, created)
    assert item is not None and item["status"]["S"] == "REPORTED"


# --- 2. between the claim and the e-mail ------------------------------------------------------


def test_a_run_stopped_right_after_the_status_check_leaves_the_email_to_the_next_run(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given the run is stopped (by hand, or the execution timed out) right after its status
    # check claimed ImgA's final report, before the e-mail was written
    imga_has_an_update_imgb_none(add_image)

    def stop_after_the_claim(invocation: Invocation, _: timedelta) -> None:
        if invocation.step == "poll" and (invocation.result or {}).get("outcome"):
            boto3.client("stepfunctions", region_name=REGION).stop_execution(
                executionArn=invocation.event["executionId"], error="StoppedByHand"
            )

    first = run_with(runner, sim, timeline, stop_after_the_claim)
    (created,) = started_updates(sim.calls)
    # (AWS says ABORTED; moto's interpreter, stopped inside a task, ends it FAILED: either way
    # nothing ran after the status check)
    assert first.status in ("ABORTED", "FAILED")
    assert first.states[-1] == states.POLL
    assert first.emails == []
    claimed = ledger_item(sim, created)
    assert claimed is not None and claimed["status"]["S"] == "CLAIMED"

    # When the next scheduled run comes
    timeline.next_run()
    second = run_with(runner, sim, timeline, None)

    # Then it sends the e-mail, and the run after it does not send it again
    (email,) = second.emails
    assert email.subject == f"AppStream image ready: {created}"
    assert "started by an earlier run" in email.body
    timeline.next_run()
    third = run_with(runner, sim, timeline, None)
    assert [e for e in third.emails if created in e.subject] == []


def test_sns_failing_for_the_whole_send_step_leaves_the_email_to_a_later_run(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given SNS refuses every publish of the run's e-mail (the topic is gone while it is
    # written: every attempt of the send step fails)
    imga_has_an_update_imgb_none(add_image)

    def sns_down(invocation: Invocation, _: timedelta) -> None:
        if invocation.step == "report":
            sns = boto3.client("sns", region_name=REGION)
            for topic in sns.list_topics()["Topics"]:
                sns.delete_topic(TopicArn=topic["TopicArn"])

    first = run_with(runner, sim, timeline, sns_down)
    (created,) = started_updates(sim.calls)
    assert first.emails == []
    assert "E-mail not sent" in first.states
    # (the send step retried for its whole window before giving up)
    assert sum(first.retry_waits) >= 35

    # When the next scheduled run comes (SNS works again)
    timeline.next_run()
    second = run_with(runner, sim, timeline, None)

    # Then it sends the image's e-mail
    (email,) = second.emails
    assert email.subject == f"AppStream image ready: {created}"


# --- 3. a report owed never expires ---------------------------------------------------------


def test_a_monthly_schedule_still_reports_an_update_that_outlived_its_run(
    short_runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given a monthly schedule, and an update that outlives its run (maxUpdateHours=1)
    imga_has_an_update_imgb_none(add_image)
    sim.script_update("ImgA", duration=timedelta(hours=3))
    first = run(short_runner)
    (created,) = new_images(sim, BASE_IMAGES)
    (still_running,) = first.emails
    assert still_running.subject == "AppStream image update still running: ImgA"

    # When the next run comes 31 days later, DynamoDB's TTL having deleted what expired
    timeline.next_run(after=timedelta(days=31))
    ttl_sweep(sim, timeline.now())
    owed = ledger_item(sim, created)
    second = run(short_runner)

    # Then the report owed was still there, and the image's e-mail went out
    assert owed is not None and owed["status"]["S"] == "PENDING"
    (email,) = second.emails
    assert email.subject == f"AppStream image ready: {created}"
    # and the sent report is kept long enough that no later run sends it again
    reported = ledger_item(sim, created)
    assert reported is not None and reported["status"]["S"] == "REPORTED"
    assert int(reported["expiresAt"]["N"]) > (timeline.now() + timedelta(days=90)).timestamp()


# --- 4. the create's ledger write was lost ------------------------------------------------------


def test_a_create_whose_ledger_write_was_lost_is_reported_by_the_next_run(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given AppStream accepts ImgA's update, but every attempt of the create step times out
    # before it records the report owed (the ledger never hears of the image)
    imga_has_an_update_imgb_none(add_image)
    sim.script_update("ImgA", duration=timedelta(hours=2))

    def timed_out(*args: Any, **kwargs: Any) -> None:
        raise TimedOut("Task timed out after 30.00 seconds")

    with mock.patch.object(UpdateLedger, "expect_report", timed_out):
        first = run(runner)
    (created,) = started_updates(sim.calls)
    assert ledger_item(sim, created) is None
    (unconfirmed,) = first.emails
    assert unconfirmed.subject == "AppStream image update not confirmed: ImgA"
    assert "the next run follows it" in unconfirmed.body
    assert "e-mails the result" in unconfirmed.body

    # When the next run comes, the update having finished meanwhile
    timeline.next_run()
    second = run(runner)

    # Then, as that e-mail said, it e-mails the result, and built nothing more
    checked = {i.event["rootImageName"]: i.result["action"] for i in second.invoked("check")}
    assert checked == {"ImgA": "LATE_REPORT", "ImgB": "NO_UPDATE"}
    (email,) = second.emails
    assert email.subject == f"AppStream image ready: {created}"
    assert started_updates(sim.calls) == [created]
    # and the run after it stays silent
    timeline.next_run()
    third = run(runner)
    assert [e for e in third.emails if created in e.subject] == []


# --- 5. could not check is never FAILED -----------------------------------------------------------


def test_a_check_throttled_while_an_earlier_update_builds_says_could_not_check(
    short_runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given an update an earlier scheduled run started is still building, and the next
    # scheduled run's check is throttled by AppStream through every retry
    imga_has_an_update_imgb_none(add_image)
    sim.script_update("ImgA", duration=timedelta(hours=30))
    run(short_runner)  # "still running" after maxUpdateHours: one failed scheduled run
    with between_runs(short_runner, sim, timeline):
        counted_before = BreakerLedger().failed_scheduled_runs()
    timeline.next_run()
    throttled = {"on": True}
    sim.fail(
        "DescribeImages",
        "ThrottlingException",
        calls=None,
        when=lambda p: throttled["on"] and p.get("Names") == ["ImgA"],
    )

    # When
    second = run(short_runner)
    throttled["on"] = False

    # Then its e-mail says it could not check, that nothing failed, and the run did not fail
    email = next(e for e in second.emails if e.attributes["image"] == "ImgA")
    assert email.subject == "AppStream image updater could not check: ImgA"
    assert email.attributes["outcome"] == "CHECK_FAILED"
    assert "FAILED" not in email.subject
    assert "Nothing failed" in email.body
    assert second.status == "SUCCEEDED"
    # and the breaker neither counted it nor took it for a success
    with between_runs(short_runner, sim, timeline):
        assert BreakerLedger().failed_scheduled_runs() == counted_before == 1
