"""Writes the e-mail for an image's outcome (or a refused run); the state machine sends it.
An update's end is also published as an EventBridge event (see `events.py` and
`update/events.py`); the e-mail goes out whether or not that worked."""

from __future__ import annotations

from typing import Any

from image_updater import clock, events
from image_updater.domain.chat import notification_event
from image_updater.domain.messages import MessageContext
from image_updater.models import FAILED, SUCCEEDED
from image_updater.observability import count, instrumented, logger
from image_updater.update import events as update_events
from image_updater.update import reports
from image_updater.update.messages import compose
from image_updater.update.messages.run_refused import compose_rejected_run
from image_updater.update.settings import ReportSettings
from image_updater.update.task import UpdateTask


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    state: dict[str, Any] = event["task"]
    execution_arn: str = event["executionArn"]
    report_settings = ReportSettings.from_env()
    ctx = MessageContext.of_run(
        execution_arn,
        clock.utc_now(),
        report_settings.max_update_hours,
        report_settings.distribution,
    )
    error = state.get("error")
    if "rootImageName" in state:
        task = UpdateTask.from_event(state)
        notification = compose(task, ctx, error)
        outcome_event = update_events.outcome_event(
            task,
            notification.outcome,
            execution_arn,
            error=error,
            max_update_hours=ctx.max_update_hours,
        )
        if outcome_event:
            events.publish(*outcome_event)
    else:
        notification = compose_rejected_run(ctx, error or {"Error": "Unknown", "Cause": str(state)})
    claim = _report_claim(task, error, ctx) if "rootImageName" in state else None
    if error:
        count("UpdatesFailed")
    logger.append_keys(image=notification.image, execution_id=execution_arn)
    logger.info(
        "Report written", extra={"outcome": notification.outcome, "subject": notification.subject}
    )
    return {**notification_event(notification, event), "reportClaim": claim}


def _report_claim(
    task: UpdateTask, error: dict[str, Any] | None, ctx: MessageContext
) -> dict[str, str] | None:
    """The ledger item the workflow marks REPORTED once SNS accepted this e-mail: the image's
    final report, which this run claimed (poll or check set the outcome only after claiming
    it; an error on the way means no outcome was set)."""
    if error or task.dry_run or task.outcome not in (SUCCEEDED, FAILED) or not task.new_image_name:
        return None
    return {
        "pk": task.root_image_name,
        "sk": reports.report_key(task.new_image_name),
        "claimer": task.execution_id,
        "keepUntil": str(int((ctx.now + reports.REPORTED_KEEP).timestamp())),
    }
