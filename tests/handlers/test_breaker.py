"""The breaker's handler against moto: its count in the ledger table and the schedule in
EventBridge Scheduler, as the workflow's last step calls it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from image_updater import events, scheduler
from image_updater.breaker.ledger import RECENT_FAILURES_MAX, BreakerLedger
from image_updater.errors import InvalidExecutionInput, ScheduleUnavailable
from image_updater.handlers import breaker
from rehearsal.runner import capture_published_events, published_events
from tests.handlers.conftest import ACCOUNT, REGION, LambdaContext, ManualClock, ledger_items

SCHEDULE = "AppStreamImageUpdater-schedule"
LIMIT = 3
# A schedule with every optional field set: pausing it must keep every one.
FULL_SCHEDULE: dict[str, Any] = {
    "Name": SCHEDULE,
    "GroupName": "default",
    "Description": "Starts the AppStream image updater",
    "ScheduleExpression": "cron(30 2 ? * SUN *)",
    "ScheduleExpressionTimezone": "Europe/Paris",
    "EndDate": datetime(2030, 1, 1, tzinfo=UTC),
    "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
    "KmsKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "ActionAfterCompletion": "NONE",
    "State": "ENABLED",
    "Target": {
        "Arn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Updater",
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/ScheduleRole",
        "Input": '{"images":["ImgA"],"dryRun":false,"startedBy":"schedule"}',
        "RetryPolicy": {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 10},
        "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dead-letters"},
    },
}


def arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Updater:{name}"


def summary(
    name: str, *, failed: bool = True, scheduled: bool = True, dry_run: bool = False
) -> dict[str, Any]:
    """What the workflow passes to the breaker's step at the end of a run."""
    return {
        "executionArn": arn(name),
        "startedBy": "schedule" if scheduled else None,
        "dryRun": dry_run,
        "anyFailed": failed,
    }


@pytest.fixture(autouse=True)
def deployment(
    ledger_table: str, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> Iterator[None]:
    """The schedule and an events subscriber in this test's moto; the breaker's settings."""
    monkeypatch.setenv("MAX_CONSECUTIVE_FAILED_RUNS", str(LIMIT))
    monkeypatch.setenv("SCHEDULE_NAME", SCHEDULE)
    monkeypatch.setenv("SCHEDULE_GROUP", "default")
    scheduler.default_client.cache_clear()
    events.default_client.cache_clear()
    boto3.client("scheduler").create_schedule(**FULL_SCHEDULE)
    capture_published_events()
    yield
    scheduler.default_client.cache_clear()
    events.default_client.cache_clear()


def the_schedule() -> dict[str, Any]:
    found = boto3.client("scheduler").get_schedule(Name=SCHEDULE, GroupName="default")
    return {k: v for k, v in found.items() if k not in ("ResponseMetadata", "LastModificationDate")}


def record(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = breaker.handler(event, LambdaContext())
    return result


def breaker_item() -> dict[str, Any] | None:
    found = [item for item in ledger_items() if item["pk"]["S"] == "#breaker"]
    return found[0] if found else None


def test_failed_scheduled_runs_below_the_limit_are_counted_and_change_nothing() -> None:
    # Given an enabled schedule
    before = the_schedule()

    # When two scheduled runs fail
    first, second = record(summary("run-1")), record(summary("run-2"))

    # Then each is counted, and nothing is paused or e-mailed
    assert first == {
        "action": "COUNTED",
        "paused": False,
        "consecutiveFailedRuns": 1,
        "notification": None,
    }
    assert second["consecutiveFailedRuns"] == 2
    assert second["notification"] is None
    assert the_schedule() == before
    assert published_events() == []


def test_the_run_that_reaches_the_limit_pauses_the_schedule_keeping_every_other_field(
    clock: ManualClock,
) -> None:
    # Given two failed scheduled runs already counted
    before = the_schedule()
    record(summary("run-1"))
    record(summary("run-2"))

    # When the third fails
    result = record(summary("run-3"))

    # Then the schedule is DISABLED, and every other field is what it was
    assert result["action"] == "PAUSED"
    assert result["paused"] is True
    assert result["consecutiveFailedRuns"] == LIMIT
    after = the_schedule()
    assert after["State"] == "DISABLED"
    assert {**after, "State": "ENABLED"} == before
    # and the e-mail the workflow sends names the schedule and every failed run
    mail = result["notification"]
    assert mail["subject"] == "AppStream image updater PAUSED: 3 scheduled runs failed in a row"
    assert (mail["outcome"], mail["image"]) == ("SCHEDULE_PAUSED", "-")
    assert SCHEDULE in mail["body"]
    assert "cron(30 2 ? * SUN *) (Europe/Paris)" in mail["body"]
    for name in ("run-1", "run-2", "run-3"):
        assert f"#/v2/executions/details/{arn(name)}" in mail["body"]
    assert 'make run-now ARGS="--resume-schedule"' in mail["body"]
    # and subscribers heard of it
    (event,) = published_events()
    assert event["detail-type"] == "Schedule Paused"
    assert event["detail"] == {
        "scheduleName": SCHEDULE,
        "consecutiveFailedRuns": 3,
        "executionArn": arn("run-3"),
        "outcome": "PAUSED",
        "reason": "3 scheduled runs failed in a row (maxConsecutiveFailedRuns 3)",
    }


def test_a_failed_run_while_another_is_pausing_leaves_the_pause_to_it(
    clock: ManualClock,
) -> None:
    # Given two failed runs counted, and a third whose step has just counted itself and
    # claimed the pause, but not paused the schedule yet
    record(summary("run-1"))
    record(summary("run-2"))
    assert BreakerLedger().record_failed_scheduled_run(arn("run-3"), clock.now)[0] == LIMIT
    assert BreakerLedger().claim_pause(arn("run-3"), clock.now).held

    # When a fourth run fails at that same moment
    result = record(summary("run-4"))

    # Then it is counted but pauses nothing and e-mails nothing: run-3 does that
    assert result["action"] == "COUNTED"
    assert result["consecutiveFailedRuns"] == 4
    assert result["notification"] is None
    assert the_schedule()["State"] == "ENABLED"

    # and had run-3 crashed, once its claim lapsed the next failed run would pause
    clock.advance(timedelta(minutes=4))
    assert record(summary("run-5"))["action"] == "PAUSED"


def test_a_retried_step_counts_its_run_once_and_writes_the_e_mail_again() -> None:
    # Given the run that reached the limit paused the schedule, and its step is retried
    # (say its Lambda timed out after the pause, so the e-mail was never sent)
    record(summary("run-1"))
    record(summary("run-2"))
    first = record(summary("run-3"))

    # When
    retried = record(summary("run-3"))

    # Then the run is counted once, and the retry still writes the e-mail
    assert first["action"] == retried["action"] == "PAUSED"
    assert retried["consecutiveFailedRuns"] == 3
    assert retried["notification"] == first["notification"]


def test_once_paused_later_failed_runs_leave_it_paused_without_e_mail(
    clock: ManualClock,
) -> None:
    # Given the schedule was paused by the breaker
    for name in ("run-1", "run-2", "run-3"):
        record(summary(name))

    # When a run the schedule started before the pause fails later on
    clock.advance(timedelta(hours=2))
    late = record(summary("run-4"))

    # Then nothing more happens
    assert late["action"] == "ALREADY_PAUSED"
    assert late["notification"] is None
    assert the_schedule()["State"] == "DISABLED"
    assert [e["detail-type"] for e in published_events()] == ["Schedule Paused"]


def test_a_pause_that_fails_is_given_up_so_the_next_failed_run_tries_again(
    clock: ManualClock,
) -> None:
    # Given two failed runs counted, and a schedule that cannot be found at the third
    record(summary("run-1"))
    record(summary("run-2"))
    boto3.client("scheduler").delete_schedule(Name=SCHEDULE)

    # When the third fails
    with pytest.raises(ScheduleUnavailable, match="ResourceNotFoundException"):
        record(summary("run-3"))

    # Then its claim is given up, and the next failed run pauses the schedule
    item = breaker_item()
    assert item is not None and "pausingBy" not in item
    boto3.client("scheduler").create_schedule(**FULL_SCHEDULE)
    assert record(summary("run-4"))["action"] == "PAUSED"


@pytest.mark.parametrize("scheduled", [True, False], ids=["scheduled", "by hand"])
def test_a_successful_run_resets_the_count(scheduled: bool) -> None:
    # Given two failed scheduled runs
    record(summary("run-1"))
    record(summary("run-2"))

    # When a run succeeds
    result = record(summary("run-3", failed=False, scheduled=scheduled))

    # Then the count starts again
    assert result["action"] == "RESET"
    assert breaker_item() is None
    assert record(summary("run-4"))["consecutiveFailedRuns"] == 1


@pytest.mark.parametrize(
    "run",
    [
        summary("by-hand", scheduled=False),
        summary("dry-run", dry_run=True, failed=False),
        summary("dry-run-by-hand", dry_run=True, failed=False, scheduled=False),
    ],
    ids=["failed by hand", "scheduled dry run", "dry run by hand"],
)
def test_hand_started_failures_and_dry_runs_neither_count_nor_reset(run: dict[str, Any]) -> None:
    # Given two failed scheduled runs
    record(summary("run-1"))
    record(summary("run-2"))

    # When
    result = record(run)

    # Then nothing changed: the next failed scheduled run is the third
    assert result["action"] == "IGNORED"
    assert record(summary("run-3"))["action"] == "PAUSED"


def test_the_breaker_off_reads_and_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given maxConsecutiveFailedRuns=0: the function is given neither the table nor the schedule
    monkeypatch.setenv("MAX_CONSECUTIVE_FAILED_RUNS", "0")
    for name in ("LEDGER_TABLE", "SCHEDULE_NAME", "SCHEDULE_GROUP"):
        monkeypatch.delenv(name)

    # When many scheduled runs fail
    results = [record(summary(f"run-{index}")) for index in range(5)]

    # Then
    assert {r["action"] for r in results} == {"OFF"}
    assert breaker_item() is None
    assert the_schedule()["State"] == "ENABLED"


def test_only_the_last_failed_runs_are_kept(clock: ManualClock) -> None:
    # Given a breaker whose pause keeps failing (no schedule), so runs go on failing
    boto3.client("scheduler").delete_schedule(Name=SCHEDULE)
    ledger = BreakerLedger()

    # When twelve scheduled runs fail
    for index in range(12):
        count, recent = ledger.record_failed_scheduled_run(arn(f"run-{index}"), clock.now)

    # Then all are counted, and the last ten are listed, oldest first
    assert count == 12
    assert recent == tuple(arn(f"run-{index}") for index in range(2, 12))
    item = breaker_item()
    assert item is not None
    assert len(item["failedExecutions"]["L"]) == RECENT_FAILURES_MAX


@pytest.mark.parametrize(
    "event",
    [
        None,
        {"executionArn": arn("x"), "startedBy": None, "dryRun": "false", "anyFailed": True},
        {"executionArn": arn("x"), "startedBy": None, "dryRun": False},
        {"startedBy": "schedule", "dryRun": False, "anyFailed": True},
    ],
)
def test_a_malformed_summary_is_refused(event: Any) -> None:
    with pytest.raises(InvalidExecutionInput):
        record(event)
