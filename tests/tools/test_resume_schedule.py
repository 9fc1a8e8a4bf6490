"""run-now --resume-schedule against the offline deployment: the schedule created in moto from
the synthesized template, the ledger table, and a stack whose outputs name them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import redirect_stderr
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from image_updater.breaker.ledger import BreakerLedger
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import (
    Deployment,
    SimulatedClock,
    WorkflowRunner,
    capture_published_events,
    published_events,
)
from tests.tools.steps import stack_for_run_now
from tools import run_now
from tools.run_now.aws import SessionFactory
from tools.run_now.errors import ENVIRONMENT, OK, USAGE

CONTEXT = {"imageNames": "ImgA,ImgB", "notificationEmails": "ops@example.com"}
NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def runner() -> WorkflowRunner:
    return WorkflowRunner(CONTEXT)


@pytest.fixture
def deployment(runner: WorkflowRunner) -> Iterator[Deployment]:
    clock = SimulatedClock()
    sim = SimulatedAppStream(clock=clock.now)
    with runner.deployed(sim, clock) as deployed:
        stack_for_run_now(deployed)
        capture_published_events()
        yield deployed


def schedule(deployment: Deployment) -> dict[str, Any]:
    found = boto3.client("scheduler").get_schedule(Name=deployment.schedule_name)
    return {k: v for k, v in found.items() if k != "ResponseMetadata"}


def pause(deployment: Deployment, failed_runs: int = 3) -> dict[str, Any]:
    """What the breaker leaves: the schedule DISABLED (nothing else changed), runs counted."""
    ledger = BreakerLedger(deployment.ledger_table)
    for index in range(failed_runs):
        ledger.record_failed_scheduled_run(f"arn:aws:states:::execution:m:run-{index}", NOW)
    current = schedule(deployment)
    request = {
        k: v
        for k, v in current.items()
        if k not in ("Arn", "CreationDate", "LastModificationDate") and v is not None
    }
    boto3.client("scheduler").update_schedule(**{**request, "State": "DISABLED"})
    return schedule(deployment)


def resume(*extra: str, session_factory: SessionFactory = boto3.Session) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = run_now.main(["--resume-schedule", *extra], out=out, session_factory=session_factory)
    return code, out.getvalue(), err.getvalue()


def without_modification_date(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if k != "LastModificationDate"}


@pytest.mark.workflow
def test_resume_turns_the_schedule_on_keeps_the_rest_and_resets_the_count(
    deployment: Deployment,
) -> None:
    # Given the breaker paused the schedule after three failed scheduled runs
    paused = pause(deployment)

    # When the admin resumes it
    code, output, errors = resume()

    # Then it is ENABLED again with every other field as it was, and the count is 0
    assert code == OK, errors
    after = schedule(deployment)
    assert without_modification_date(after) == {
        **without_modification_date(paused),
        "State": "ENABLED",
    }
    assert BreakerLedger(deployment.ledger_table).failed_scheduled_runs() == 0
    # and the tool says what it did
    assert output.splitlines() == [
        f"Schedule {deployment.schedule_name} resumed: DISABLED -> ENABLED, every other setting "
        "kept. It starts runs again: cron(0 3 * * ? *) (UTC).",
        "The breaker's count was reset (it was 3 failed scheduled runs in a row): it pauses the "
        "schedule again only after maxConsecutiveFailedRuns more scheduled runs fail in a row.",
        "Published the EventBridge event Schedule Resumed.",
    ]
    # and subscribers heard it
    (event,) = published_events()
    assert event["detail-type"] == "Schedule Resumed"
    assert event["detail"]["scheduleName"] == deployment.schedule_name
    assert event["detail"]["outcome"] == "RESUMED"


@pytest.mark.workflow
def test_resume_when_already_on_changes_nothing_but_the_count(deployment: Deployment) -> None:
    # Given a schedule resumed in the console (on, its count still at 2)
    ledger = BreakerLedger(deployment.ledger_table)
    for index in range(2):
        ledger.record_failed_scheduled_run(f"arn:aws:states:::execution:m:run-{index}", NOW)
    before = schedule(deployment)

    # When the tool is run, twice
    first = resume()
    second = resume()

    # Then the schedule was not touched (no UpdateSchedule), the count is 0, no event
    assert [first[0], second[0]] == [OK, OK]
    assert schedule(deployment) == before
    assert ledger.failed_scheduled_runs() == 0
    assert f"Schedule {deployment.schedule_name} is already ENABLED: left as it was" in first[1]
    assert "it was 2 failed scheduled runs in a row" in first[1]
    assert "it was 0 failed scheduled runs in a row" in second[1]
    assert published_events() == []


@pytest.mark.parametrize(
    "extra",
    [["--images", "ImgA"], ["--dry-run"], ["--no-follow"], ["--execution", "arn:x"]],
    ids=["images", "dry-run", "no-follow", "execution"],
)
def test_resume_starts_no_run_and_takes_no_run_options(extra: list[str]) -> None:
    code, _, errors = resume(*extra)
    assert code == USAGE
    assert "--resume-schedule starts no run" in errors


@pytest.mark.workflow
def test_a_stack_without_the_breaker_is_told_to_deploy(runner: WorkflowRunner) -> None:
    # Given a stack deployed by an older version (no ScheduleName / LedgerTableName outputs)
    clock = SimulatedClock()
    with runner.deployed(SimulatedAppStream(clock=clock.now), clock) as deployed:
        stack_for_run_now(deployed, breaker_outputs=False)

        # When
        code, output, errors = resume()

    # Then nothing was changed, and the tool says what to do
    assert code == ENVIRONMENT
    assert output == ""
    assert "npx cdk deploy" in errors


class _NoEvents:
    """An EventBridge client that cannot publish (no permission for the admin, say)."""

    def put_events(self, **_: Any) -> Any:
        raise RuntimeError("AccessDeniedException")


@pytest.mark.workflow
def test_an_event_that_cannot_be_published_does_not_fail_the_resume(
    deployment: Deployment,
) -> None:
    # Given the admin may not publish events
    pause(deployment)

    def session_factory(**kwargs: Any) -> boto3.Session:
        session = boto3.Session(**kwargs)
        real_client = session.client

        def client(service: str, *args: Any, **more: Any) -> Any:
            return _NoEvents() if service == "events" else real_client(service, *args, **more)

        session.client = client  # type: ignore[method-assign]
        return session

    # When
    code, output, _ = resume(session_factory=session_factory)

    # Then the schedule is resumed all the same, and the tool says the event was lost
    assert code == OK
    assert schedule(deployment)["State"] == "ENABLED"
    assert "could not be published (the schedule is resumed all the same)" in output


@pytest.mark.workflow
def test_a_schedule_that_cannot_be_changed_is_reported_with_what_was_done(
    deployment: Deployment,
) -> None:
    # Given the schedule was deleted by hand
    pause(deployment, failed_runs=2)
    boto3.client("scheduler").delete_schedule(Name=deployment.schedule_name)

    # When
    code, output, errors = resume()

    # Then the tool says the count was reset but the schedule was not turned on, and why
    assert code == ENVIRONMENT
    assert output == ""
    assert "The breaker's count was reset (it was 2 failed scheduled runs in a row)" in errors
    assert "was NOT turned on" in errors
    assert "ResourceNotFoundException" in errors
