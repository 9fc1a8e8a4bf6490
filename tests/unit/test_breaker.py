"""The breaker's pure parts: what it decides for each kind of run, the UpdateSchedule request
that changes only the state, and the e-mail of a trip."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest

from image_updater.breaker.ledger import PauseClaim
from image_updater.breaker.messages import compose_schedule_paused
from image_updater.breaker.service import (
    ALREADY_PAUSED,
    COUNTED,
    IGNORED,
    OFF,
    PAUSED,
    RESET,
    FinishedRun,
    record_run,
)
from image_updater.domain.messages import SUBJECT_MAX, MessageContext
from image_updater.scheduler import DISABLED, ENABLED, StateChange, update_request

NOW = datetime(2026, 12, 4, 3, 41, tzinfo=UTC)
EXECUTION = "arn:aws:states:eu-west-1:111122223333:execution:Updater:"
SCHEDULER = botocore.session.get_session().get_service_model("scheduler")
UPDATE_FIELDS = frozenset(SCHEDULER.operation_model("UpdateSchedule").input_shape.members)


FREE_TO_PAUSE = PauseClaim(held=True, again=False)


class FakeLedger:
    def __init__(self, count: int = 0, claim: PauseClaim = FREE_TO_PAUSE) -> None:
        self.count = count
        self.claim = claim
        self.calls: list[str] = []

    def record_failed_scheduled_run(
        self, execution_arn: str, now: datetime
    ) -> tuple[int, tuple[str, ...]]:
        self.calls.append("record")
        self.count += 1
        return self.count, (execution_arn,)

    def reset_breaker(self) -> int:
        self.calls.append("reset")
        cleared, self.count = self.count, 0
        return cleared

    def claim_pause(self, execution_arn: str, now: datetime) -> PauseClaim:
        self.calls.append("claim")
        return self.claim

    def release_pause(self, execution_arn: str) -> None:
        self.calls.append("release")


class FakeSchedule:
    def __init__(self, state: str = ENABLED, error: Exception | None = None) -> None:
        self.state = state
        self.error = error

    def set_state(self, state: str) -> StateChange:
        if self.error:
            raise self.error
        previous, self.state = self.state, state
        return StateChange("s", "default", previous, {"Name": "s", "State": state})


def run(*, failed: bool = True, scheduled: bool = True, dry_run: bool = False) -> FinishedRun:
    return FinishedRun(EXECUTION + "r", "schedule" if scheduled else None, dry_run, failed)


# --- decisions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("finished", "expected", "calls"),
    [
        (run(), COUNTED, ["record"]),
        (run(failed=False), RESET, ["reset"]),
        (run(failed=False, scheduled=False), RESET, ["reset"]),
        (run(scheduled=False), IGNORED, []),
        (run(failed=False, dry_run=True), IGNORED, []),
        (run(failed=True, dry_run=True), IGNORED, []),
    ],
    ids=[
        "scheduled failed",
        "scheduled succeeded",
        "by hand succeeded",
        "by hand failed",
        "dry run",
        "dry run (never fails, but if)",
    ],
)
def test_what_each_kind_of_run_does_below_the_limit(
    finished: FinishedRun, expected: str, calls: list[str]
) -> None:
    ledger, schedule = FakeLedger(count=1), FakeSchedule()
    result = record_run(finished, ledger, schedule, 3, NOW)
    assert (result.action, ledger.calls, schedule.state) == (expected, calls, ENABLED)


def test_the_limit_reached_pauses_once() -> None:
    ledger, schedule = FakeLedger(count=2), FakeSchedule()
    result = record_run(run(), ledger, schedule, 3, NOW)
    assert (result.action, result.paused, result.consecutive_failed_runs) == (PAUSED, True, 3)
    assert schedule.state == DISABLED
    assert ledger.calls == ["record", "claim"]


def test_limit_zero_is_off_and_touches_nothing() -> None:
    ledger, schedule = FakeLedger(count=50), FakeSchedule()
    assert record_run(run(), ledger, schedule, 0, NOW).action == OFF
    assert ledger.calls == []


def test_a_claim_held_by_another_run_only_counts() -> None:
    ledger, schedule = FakeLedger(count=5, claim=PauseClaim(False, False)), FakeSchedule()
    result = record_run(run(), ledger, schedule, 3, NOW)
    assert (result.action, schedule.state) == (COUNTED, ENABLED)


@pytest.mark.parametrize(("again", "expected"), [(False, ALREADY_PAUSED), (True, PAUSED)])
def test_a_schedule_found_paused_is_reported_only_by_the_run_that_paused_it(
    again: bool, expected: str
) -> None:
    # Given the schedule is paused already; `again`: this run's own step paused it, then failed
    ledger = FakeLedger(count=3, claim=PauseClaim(True, again))
    result = record_run(run(), ledger, FakeSchedule(state=DISABLED), 3, NOW)
    assert result.action == expected


def test_a_pause_that_fails_gives_its_claim_up_and_raises() -> None:
    ledger = FakeLedger(count=2)
    with pytest.raises(RuntimeError, match="refused"):
        record_run(run(), ledger, FakeSchedule(error=RuntimeError("refused")), 3, NOW)
    assert ledger.calls == ["record", "claim", "release"]


# --- the UpdateSchedule request ----------------------------------------------------------------


def get_schedule_answer() -> dict[str, Any]:
    """Every member of GetSchedule's output, as Scheduler returns them."""
    return {
        "Arn": "arn:aws:scheduler:eu-west-1:111122223333:schedule/default/s",
        "Name": "s",
        "GroupName": "default",
        "ScheduleExpression": "cron(0 3 * * ? *)",
        "ScheduleExpressionTimezone": "Europe/Paris",
        "StartDate": datetime(2026, 1, 1, tzinfo=UTC),
        "EndDate": datetime(2030, 1, 1, tzinfo=UTC),
        "Description": "Starts the AppStream image updater",
        "State": "ENABLED",
        "CreationDate": datetime(2026, 1, 1, tzinfo=UTC),
        "LastModificationDate": datetime(2026, 2, 1, tzinfo=UTC),
        "KmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/k",
        "Target": {
            "Arn": "arn:aws:states:eu-west-1:111122223333:stateMachine:Updater",
            "RoleArn": "arn:aws:iam::111122223333:role/ScheduleRole",
            "Input": "{}",
            "RetryPolicy": {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 10},
            "DeadLetterConfig": {"Arn": "arn:aws:sqs:eu-west-1:111122223333:dlq"},
        },
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "NONE",
    }


def test_the_answer_covers_every_member_of_get_schedule() -> None:
    # (so that the next test sends back everything Scheduler can return)
    output = SCHEDULER.operation_model("GetSchedule").output_shape.members
    assert set(get_schedule_answer()) == set(output)


def test_update_request_sends_back_every_field_update_schedule_accepts() -> None:
    # Given GetSchedule's answer
    schedule = get_schedule_answer()

    # When the request that pauses it is built
    request = update_request(schedule, UPDATE_FIELDS, DISABLED)

    # Then it holds every field both operations share, unchanged, and the new state
    shared = (set(schedule) & UPDATE_FIELDS) - {"State"}
    assert shared == {
        "Name",
        "GroupName",
        "ScheduleExpression",
        "ScheduleExpressionTimezone",
        "StartDate",
        "EndDate",
        "Description",
        "KmsKeyArn",
        "Target",
        "FlexibleTimeWindow",
        "ActionAfterCompletion",
    }
    assert request == {**{field: schedule[field] for field in shared}, "State": DISABLED}
    # and nothing UpdateSchedule would refuse, nor a request token
    assert set(request) <= UPDATE_FIELDS - {"ClientToken"}


def test_update_request_leaves_out_what_the_schedule_does_not_have() -> None:
    schedule: Mapping[str, Any] = {
        "Name": "s",
        "ScheduleExpression": "rate(1 day)",
        "Target": {"Arn": "a", "RoleArn": "r"},
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Description": None,
        "ClientToken": "abc",
    }
    assert update_request(schedule, UPDATE_FIELDS, ENABLED) == {
        "Name": "s",
        "ScheduleExpression": "rate(1 day)",
        "Target": {"Arn": "a", "RoleArn": "r"},
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": ENABLED,
    }


# --- the e-mail --------------------------------------------------------------------------------


# The schedule the breaker paused, as GetSchedule returns it.
PAUSED_SCHEDULE = {
    "Name": "AppStreamImageUpdater-schedule",
    "GroupName": "default",
    "ScheduleExpression": "cron(0 3 * * ? *)",
    "ScheduleExpressionTimezone": "Europe/Paris",
}


def pause_email(count: int = 3, shown: int = 3) -> Any:
    ctx = MessageContext(
        region="eu-west-1",
        partition="aws",
        execution_arn=EXECUTION + "r3",
        now=NOW,
        max_update_hours=12,
    )
    return compose_schedule_paused(
        ctx,
        schedule=PAUSED_SCHEDULE,
        consecutive_failed_runs=count,
        limit=3,
        failed_executions=[
            EXECUTION + f"r{index}" for index in range(count - shown + 1, count + 1)
        ],
    )


def test_the_pause_email_says_what_was_paused_why_and_how_to_resume() -> None:
    mail = pause_email()
    assert mail.subject == "AppStream image updater PAUSED: 3 scheduled runs failed in a row"
    assert (mail.outcome, mail.image, mail.failed) == ("SCHEDULE_PAUSED", "-", True)
    body = mail.body
    assert "the last 3 scheduled runs failed" in body
    assert "maxConsecutiveFailedRuns is 3" in body
    assert "AppStreamImageUpdater-schedule (group default)" in body
    assert "cron(0 3 * * ? *) (Europe/Paris)" in body
    assert "2026-12-04 03:41 UTC" in body
    # the three runs, oldest first, as console links
    links = [
        f"  {index}. https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        f"#/v2/executions/details/{EXECUTION}r{index}"
        for index in (1, 2, 3)
    ]
    assert "\n".join(links) in body
    # what to fix, and exactly how to resume (the tool, not the CLI)
    assert "Each of these runs e-mailed why it failed" in body
    assert 'make run-now ARGS="--resume-schedule"' in body
    assert "`aws scheduler update-schedule`, which replaces the whole schedule" in body
    # and what a deploy does
    assert "a deploy that does not change the schedule leaves it paused" in body
    assert "applies the template's state and so turns it back on" in body


def test_runs_beyond_the_ones_remembered_are_counted() -> None:
    mail = pause_email(count=14, shown=10)
    assert "the last 14 scheduled runs failed" in mail.body
    assert "  ... 4 earlier\n  1. " in mail.body
    assert mail.body.count("#/v2/executions/details/") == 11  # ten runs and this one


def test_the_subject_fits_sns_in_every_partition() -> None:
    mail = pause_email()
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        ctx = MessageContext("r", partition, EXECUTION + "x", NOW, 12)
        subject = compose_schedule_paused(
            ctx, schedule={}, consecutive_failed_runs=10, limit=10, failed_executions=[]
        ).subject
        assert len(subject) <= SUBJECT_MAX
        assert subject.isascii() and subject.isprintable()
    assert len(mail.subject) <= SUBJECT_MAX


def test_the_run_summary_reads_the_workflow_state() -> None:
    event = {"executionArn": EXECUTION + "r", "startedBy": None, "dryRun": False, "anyFailed": True}
    assert FinishedRun.from_event(event) == FinishedRun(EXECUTION + "r", None, False, True)
    assert not FinishedRun.from_event(event).scheduled
    assert FinishedRun.from_event({**event, "startedBy": "schedule"}).scheduled
    assert dataclasses.replace(run(), started_by="by hand").scheduled is False
