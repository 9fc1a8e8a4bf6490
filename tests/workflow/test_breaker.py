"""The circuit breaker through the synthesized state machine, run after run on one simulated
account: the schedule (created in moto from the template) keeps its state between runs, as
the ledger does. `run(runner)` is a run the schedule started (the template's input, with
`"startedBy": "schedule"`); runs by hand pass their own input, as run-now does."""

from __future__ import annotations

import io
import json
from typing import Any
from unittest import mock

import pytest

from image_updater.breaker.ledger import BreakerLedger
from image_updater.breaker.messages import SCHEDULE_PAUSED
from infra.workflow import states
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import Execution, WorkflowRunner
from tests.tools.steps import stack_for_run_now
from tests.workflow.conftest import AddImage, Run, Timeline, runner_with
from tests.workflow.steps import imga_has_an_update_imgb_none
from tools import run_now
from tools.run_now.errors import OK

pytestmark = pytest.mark.workflow

BY_HAND = {"images": ["ImgA", "ImgB"], "dryRun": False}
DRY_RUN = {"images": ["ImgA", "ImgB"], "dryRun": True}
PARIS = "Europe/Paris"


@pytest.fixture(scope="session")
def off_runner() -> WorkflowRunner:
    return runner_with(maxConsecutiveFailedRuns="0")


@pytest.fixture(scope="session")
def paris_runner() -> WorkflowRunner:
    """Pauses at the first failed scheduled run; a schedule with a time zone of its own."""
    return runner_with(
        maxConsecutiveFailedRuns="1",
        scheduleExpression="cron(30 2 ? * SUN *)",
        scheduleTimezone=PARIS,
    )


@pytest.fixture(autouse=True)
def images(add_image: AddImage) -> None:
    # ImgA has updates (whether its update may start is up to each test); ImgB has none.
    imga_has_an_update_imgb_none(add_image)


def next_run_fails(sim: SimulatedAppStream) -> None:
    """AppStream refuses ImgA's next update: that run ends FAILED (and e-mails why)."""
    sim.set_updates_available("ImgA", True)
    sim.fail("CreateUpdatedImage", "IncompatibleImageException", when=lambda p: not p["dryRun"])


def next_run_succeeds(sim: SimulatedAppStream) -> None:
    """Nothing to update: the run ends SUCCEEDED."""
    sim.set_updates_available("ImgA", False)


def schedule_state(sim: SimulatedAppStream) -> str:
    return str(sim.account_state["schedule"]["State"])


def counted(sim: SimulatedAppStream) -> int:
    """The breaker's count of failed scheduled runs in a row, as the ledger holds it."""
    for item in sim.account_state.get("ledger", []):
        if item["pk"]["S"] == "#breaker":
            return int(item.get("failedRuns", {"N": "0"})["N"])
    return 0


def pause_emails(execution: Execution) -> list[Any]:
    return [e for e in execution.emails if e.attributes.get("outcome") == SCHEDULE_PAUSED]


def breaker_action(execution: Execution) -> str:
    (step,) = execution.invoked("breaker")
    return str(step.result["action"])


def arn_of(execution: Execution) -> str:
    (step,) = execution.invoked("breaker")
    return str(step.event["executionArn"])


def fail_scheduled(
    workflow: WorkflowRunner, sim: SimulatedAppStream, run: Run, timeline: Timeline
) -> Execution:
    timeline.next_run()
    next_run_fails(sim)
    execution = run(workflow)
    # Whatever the breaker does, the run ends as its images decided
    assert (execution.status, execution.error) == ("FAILED", "ImageUpdatesFailed")
    return execution


# --- tripping ----------------------------------------------------------------------------------


def test_three_scheduled_runs_failing_in_a_row_pause_the_schedule_once(
    runner: WorkflowRunner, sim: SimulatedAppStream, run: Run, timeline: Timeline
) -> None:
    # Given maxConsecutiveFailedRuns=3 (cdk.json) and two scheduled runs that failed
    first = fail_scheduled(runner, sim, run, timeline)
    second = fail_scheduled(runner, sim, run, timeline)
    assert [pause_emails(first), pause_emails(second)] == [[], []]
    assert (schedule_state(sim), counted(sim)) == ("ENABLED", 2)

    # When the third scheduled run fails too
    third = fail_scheduled(runner, sim, run, timeline)

    # Then the schedule is paused, and one e-mail says so, next to the run's own failure e-mail
    assert schedule_state(sim) == "DISABLED"
    assert breaker_action(third) == "PAUSED"
    (mail,) = pause_emails(third)
    assert [e.subject for e in third.emails] == [
        "AppStream image update FAILED: ImgA",
        "AppStream image updater PAUSED: 3 scheduled runs failed in a row",
    ]
    assert mail.attributes == {"outcome": "SCHEDULE_PAUSED", "image": "-"}
    # naming the three failed runs, oldest first, and how to resume
    links = [mail.body.index(arn_of(execution)) for execution in (first, second, third)]
    assert links == sorted(links)
    assert 'make run-now ARGS="--resume-schedule"' in mail.body
    assert states.SEND_THE_PAUSE_EMAIL in third.states
    # and subscribers to the updater's events heard it
    assert [e["detail-type"] for e in third.events] == ["Image Update Failed", "Schedule Paused"]

    # When a fourth scheduled run (started before the pause) fails as well
    fourth = fail_scheduled(runner, sim, run, timeline)

    # Then the schedule stays paused, and no second pause e-mail goes out
    assert (schedule_state(sim), breaker_action(fourth), pause_emails(fourth)) == (
        "DISABLED",
        "ALREADY_PAUSED",
        [],
    )


def test_failed_runs_started_by_hand_neither_trip_nor_reset_the_breaker(
    runner: WorkflowRunner, sim: SimulatedAppStream, run: Run, timeline: Timeline
) -> None:
    # Given two failed scheduled runs
    fail_scheduled(runner, sim, run, timeline)
    fail_scheduled(runner, sim, run, timeline)

    # When two runs started by hand fail in between
    for _ in range(2):
        next_run_fails(sim)
        by_hand = run(runner, BY_HAND)
        assert by_hand.status == "FAILED"
        assert breaker_action(by_hand) == "IGNORED"

    # Then the schedule still runs, the count is still 2
    assert (schedule_state(sim), counted(sim)) == ("ENABLED", 2)
    # and the next failed scheduled run is the third in a row
    third = fail_scheduled(runner, sim, run, timeline)
    assert len(pause_emails(third)) == 1
    assert schedule_state(sim) == "DISABLED"


@pytest.mark.parametrize(
    "succeeding_input", [None, BY_HAND], ids=["scheduled success", "success by hand"]
)
def test_a_successful_run_resets_the_count(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    run: Run,
    timeline: Timeline,
    succeeding_input: Any,
) -> None:
    # Given two failed scheduled runs
    fail_scheduled(runner, sim, run, timeline)
    fail_scheduled(runner, sim, run, timeline)

    # When a run succeeds, scheduled or by hand
    next_run_succeeds(sim)
    success = run(runner, succeeding_input)
    assert success.status == "SUCCEEDED"

    # Then the count starts again: two more failed scheduled runs do not pause
    assert (breaker_action(success), counted(sim)) == ("RESET", 0)
    fail_scheduled(runner, sim, run, timeline)
    fourth = fail_scheduled(runner, sim, run, timeline)
    assert (pause_emails(fourth), schedule_state(sim), counted(sim)) == ([], "ENABLED", 2)


def test_dry_runs_neither_count_nor_reset(
    runner: WorkflowRunner, sim: SimulatedAppStream, run: Run, timeline: Timeline
) -> None:
    # Given two failed scheduled runs
    fail_scheduled(runner, sim, run, timeline)
    fail_scheduled(runner, sim, run, timeline)

    # When someone checks with a dry run (which ends SUCCEEDED, and e-mails nothing)
    dry_run = run(runner, DRY_RUN)

    # Then it changed nothing: the next failed scheduled run is the third
    assert (dry_run.status, dry_run.emails, breaker_action(dry_run)) == (
        "SUCCEEDED",
        [],
        "IGNORED",
    )
    assert counted(sim) == 2
    third = fail_scheduled(runner, sim, run, timeline)
    assert len(pause_emails(third)) == 1


def test_max_consecutive_failed_runs_zero_never_pauses(
    off_runner: WorkflowRunner, sim: SimulatedAppStream, run: Run, timeline: Timeline
) -> None:
    # Given maxConsecutiveFailedRuns=0
    # When five scheduled runs fail in a row
    executions = [fail_scheduled(off_runner, sim, run, timeline) for _ in range(5)]

    # Then the schedule still runs, nothing was counted, only the failures were e-mailed
    assert schedule_state(sim) == "ENABLED"
    assert counted(sim) == 0
    assert {breaker_action(e) for e in executions} == {"OFF"}
    assert all(pause_emails(e) == [] for e in executions)


def test_pausing_keeps_every_other_field_of_the_schedule(
    paris_runner: WorkflowRunner, sim: SimulatedAppStream, run: Run, timeline: Timeline
) -> None:
    # Given the schedule as deployed (read back after a successful run)
    next_run_succeeds(sim)
    assert run(paris_runner).status == "SUCCEEDED"
    before = dict(sim.account_state["schedule"])
    target = before["Target"]
    assert before["ScheduleExpressionTimezone"] == PARIS
    assert before["ScheduleExpression"] == "cron(30 2 ? * SUN *)"
    assert before["Description"] == "Starts the AppStream image updater"
    assert json.loads(target["Input"])["startedBy"] == "schedule"
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 10}
    assert target["DeadLetterConfig"]["Arn"].startswith("arn:aws:sqs:")

    # When the breaker (maxConsecutiveFailedRuns=1) pauses it
    paused = fail_scheduled(paris_runner, sim, run, timeline)
    assert len(pause_emails(paused)) == 1

    # Then only its state changed: target, input, time zone, retries, dead-letter queue kept
    # (UpdateSchedule would have reset any field it was not sent)
    assert sim.account_state["schedule"] == {**before, "State": "DISABLED"}


def test_a_breaker_error_never_changes_the_runs_result(
    runner: WorkflowRunner, sim: SimulatedAppStream, run: Run, timeline: Timeline
) -> None:
    # Given the breaker's table cannot be written
    broken = mock.patch.object(
        BreakerLedger, "record_failed_scheduled_run", side_effect=RuntimeError("table gone")
    )
    resets = mock.patch.object(
        BreakerLedger, "reset_breaker", side_effect=RuntimeError("table gone")
    )

    # When a scheduled run fails, and another succeeds
    with broken, resets:
        failed = fail_scheduled(runner, sim, run, timeline)
        next_run_succeeds(sim)
        succeeded = run(runner)

    # Then each ends as its images decided, the failure was e-mailed, the breaker's error kept
    assert failed.status == "FAILED"
    assert [e.subject for e in failed.emails] == ["AppStream image update FAILED: ImgA"]
    assert succeeded.status == "SUCCEEDED"
    for execution in (failed, succeeded):
        assert states.BREAKER_FAILED in execution.states
        assert execution.states[-2:][0] == states.DID_EVERY_IMAGE_SUCCEED
    assert succeeded.output["breakerError"]["Error"] == "RuntimeError"


# --- resuming ----------------------------------------------------------------------------------


def test_after_resume_schedule_the_schedule_runs_again_and_the_count_starts_from_zero(
    runner: WorkflowRunner, sim: SimulatedAppStream, run: Run, timeline: Timeline
) -> None:
    # Given the breaker paused the schedule after three failed scheduled runs
    for _ in range(3):
        fail_scheduled(runner, sim, run, timeline)
    paused = dict(sim.account_state["schedule"])
    assert (paused["State"], counted(sim)) == ("DISABLED", 3)

    # When the admin resumes it, as the e-mail says
    out = io.StringIO()
    with runner.deployed(sim, timeline.clock) as deployment:
        stack_for_run_now(deployment)
        code = run_now.main(["--resume-schedule"], out=out)

    # Then the schedule is ENABLED with every other field kept, and the count reset
    assert code == OK, out.getvalue()
    assert sim.account_state["schedule"] == {**paused, "State": "ENABLED"}
    assert counted(sim) == 0
    assert "resumed: DISABLED -> ENABLED" in out.getvalue()
    assert "it was 3 failed scheduled runs in a row" in out.getvalue()

    # and the next failed scheduled run does not pause it again at once
    after = fail_scheduled(runner, sim, run, timeline)
    assert (breaker_action(after), schedule_state(sim), pause_emails(after)) == (
        "COUNTED",
        "ENABLED",
        [],
    )
