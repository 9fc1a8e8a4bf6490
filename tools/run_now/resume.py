"""--resume-schedule: turn the schedule back on after the circuit breaker paused it.

It starts no run: it turns the schedule back on (maxConsecutiveFailedRuns scheduled runs
failed in a row), keeping every other setting of the schedule, and resets the breaker's
count, so that the next failed run does not pause it again at once. It resets the count even
when the schedule is on already (resumed in the console, or by a deploy that changed the
schedule), and then changes nothing else. A "Schedule Resumed" event is published when it
can be; the resume never fails for want of it. Needs scheduler:GetSchedule and
scheduler:UpdateSchedule on the schedule, iam:PassRole on its role, and dynamodb:DeleteItem on
the stack's ledger table.
"""

from __future__ import annotations

import argparse
import json
from typing import IO, cast

import boto3

from image_updater.breaker.ledger import BreakerLedger
from image_updater.errors import ImageUpdaterError
from image_updater.scheduler import DEFAULT_GROUP, ENABLED, Schedule, SchedulerClient
from tools.run_now.aws import AWS_ERRORS, SessionFactory, find_stack, problem, signed_in_session
from tools.run_now.errors import ENVIRONMENT, OK, USAGE, ToolError


def resume(args: argparse.Namespace, out: IO[str], session_factory: SessionFactory) -> int:
    if args.images is not None or args.dry_run or not args.follow or args.execution:
        raise ToolError(
            "--resume-schedule starts no run: leave out --images, --dry-run, --no-follow "
            "and --execution (start a run afterwards if you want one now).",
            USAGE,
        )
    session = signed_in_session(args, session_factory)
    stack = find_stack(session, args.stack)
    name, table = stack.outputs.get("ScheduleName"), stack.outputs.get("LedgerTableName")
    if not name or not table:
        raise ToolError(
            f"Stack {args.stack!r} has no ScheduleName and LedgerTableName outputs: it was "
            "deployed by a version of the updater without the circuit breaker. Deploy this "
            "version with `npx cdk deploy`.",
            ENVIRONMENT,
        )
    return resume_schedule(session, name, table, out)


def resume_schedule(session: boto3.Session, name: str, table: str, out: IO[str]) -> int:
    """Reset the breaker's count, then turn the schedule on (every other setting kept)."""
    # The count first: a schedule turned on with the count still at its limit would be
    # paused again by the next failed run.
    try:
        cleared = BreakerLedger(table, session.client("dynamodb")).reset_breaker()
    except ImageUpdaterError as error:
        raise ToolError(
            f"Nothing was changed: the breaker's count in table {table} could not be reset "
            f"({_cause(error)}).",
            ENVIRONMENT,
        ) from error
    counted = f"{cleared} failed scheduled run{'s' if cleared != 1 else ''} in a row"
    try:
        scheduler = cast(SchedulerClient, session.client("scheduler"))
        change = Schedule(name, DEFAULT_GROUP, scheduler).set_state(ENABLED)
    except ImageUpdaterError as error:
        raise ToolError(
            f"The breaker's count was reset (it was {counted}), but schedule {name} was NOT "
            f"turned on: {_cause(error)}. Run --resume-schedule again once that is fixed.",
            ENVIRONMENT,
        ) from error
    timing = (
        f"{change.schedule.get('ScheduleExpression')} "
        f"({change.schedule.get('ScheduleExpressionTimezone')})"
    )
    if change.changed:
        out.write(
            f"Schedule {name} resumed: {change.previous_state} -> {change.state}, every other "
            f"setting kept. It starts runs again: {timing}.\n"
        )
    else:
        out.write(f"Schedule {name} is already {change.state}: left as it was ({timing}).\n")
    out.write(
        f"The breaker's count was reset (it was {counted}): it pauses the schedule again only "
        "after maxConsecutiveFailedRuns more scheduled runs fail in a row.\n"
    )
    if change.changed:
        announced = _announce_resumed(session, name)
        out.write(
            "Published the EventBridge event Schedule Resumed.\n"
            if announced
            else "The EventBridge event Schedule Resumed could not be published (the "
            "schedule is resumed all the same).\n"
        )
    return OK


def _cause(error: ImageUpdaterError) -> str:
    cause = error.__cause__
    return problem(cause) if isinstance(cause, AWS_ERRORS) else str(error)


def _announce_resumed(session: boto3.Session, name: str) -> bool:
    """PutEvents "Schedule Resumed", as the updater's functions publish theirs; never
    raises: the resume is done whatever happens here."""
    try:
        from image_updater import events  # its Powertools logger only loads when needed

        detail = events.schedule_resumed(name, reason="resumed with run-now --resume-schedule")
        response = session.client("events").put_events(
            Entries=[
                {
                    "Source": events.SOURCE,
                    "DetailType": events.SCHEDULE_RESUMED,
                    "Detail": json.dumps(detail, separators=(",", ":")),
                }
            ]
        )
    except Exception:  # any failure: the event is lost, the resume stands
        return False
    return not response.get("FailedEntryCount")
