"""The breaker's one e-mail (message attribute `outcome` SCHEDULE_PAUSED): the workflow paused
its own schedule."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from image_updater.domain.messages import PRODUCT, MessageContext, email, table, when
from image_updater.models import Notification

SCHEDULE_PAUSED = "SCHEDULE_PAUSED"
RESUME_COMMAND = 'make run-now ARGS="--resume-schedule"'
DRY_RUN_COMMAND = 'make run-now ARGS="--dry-run"'


def compose_schedule_paused(
    ctx: MessageContext,
    *,
    schedule: Mapping[str, Any],
    consecutive_failed_runs: int,
    limit: int,
    failed_executions: Sequence[str],
) -> Notification:
    """The one e-mail of a breaker trip: what was paused and why, the failed runs, what to
    fix, how to resume, and what `cdk deploy` does to a paused schedule."""
    name = schedule.get("Name", "the updater's schedule")
    expression = schedule.get("ScheduleExpression")
    zone = schedule.get("ScheduleExpressionTimezone")
    rows: list[tuple[str, str | None]] = [
        ("Schedule", f"{name} (group {schedule.get('GroupName', 'default')})"),
        ("Runs", f"{expression} ({zone})" if expression else None),
        ("State", "DISABLED (paused)"),
        ("Paused", when(ctx.now)),
    ]
    shown = list(failed_executions)
    earlier = consecutive_failed_runs - len(shown)
    runs = "\n".join(
        f"  {index}. {dataclasses.replace(ctx, execution_arn=arn).execution_url()}"
        for index, arn in enumerate(shown, start=1)
    )
    if earlier > 0:
        runs = f"  ... {earlier} earlier\n{runs}"
    several = consecutive_failed_runs != 1
    return email(
        "AppStream image updater PAUSED: "
        + (
            f"{consecutive_failed_runs} scheduled runs failed in a row"
            if several
            else "a scheduled run failed"
        ),
        "The AppStream image updater paused its schedule: "
        + (
            f"the last {consecutive_failed_runs} scheduled runs failed, one after the other"
            if several
            else "the last scheduled run failed"
        )
        + f" (maxConsecutiveFailedRuns is {limit}). "
        "No run starts by itself until you resume it. Nothing else was changed, and runs "
        "you start by hand still work.",
        table(rows),
        f"The failed scheduled runs, oldest first:\n{runs}",
        "What to do:\n"
        "1. Fix the cause. Each of these runs e-mailed why it failed and what to do about it; "
        "open a run above to see the step that failed.\n"
        f"2. Check the fix without waiting for the schedule: {DRY_RUN_COMMAND}\n"
        f"3. Resume the schedule: {RESUME_COMMAND}\n"
        "   It turns the schedule back on, keeping every other setting, and starts the count "
        "of failed runs again from 0. Use it rather than `aws scheduler update-schedule`, "
        "which replaces the whole schedule: every setting it is not given again (the runs' "
        "input, retries, dead-letter queue, time zone) goes back to its default. Turned on "
        "any other way (the EventBridge Scheduler console, a deploy), the schedule runs with "
        "the count as it was, and the next failed scheduled run pauses it again at once: run "
        "the command above to reset it.",
        "About `cdk deploy`: a deploy that does not change the schedule leaves it paused "
        "(CloudFormation only updates what the template changes). A deploy that changes it "
        "(a new scheduleExpression, scheduleTimezone or imageNames, for example) applies the "
        "template's state and so turns it back on.",
        ctx.run_links(),
        f"-- {PRODUCT}.",
        outcome=SCHEDULE_PAUSED,
        image="-",
        failed=True,
    )
