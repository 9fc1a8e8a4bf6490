"""Writes the "distributed" e-mail of one image (every copy and share with its outcome), or
of an owed distribution whose image left the hub, and publishes its events; the state machine
sends the e-mail, then marks the image's distribution item REPORTED (`reportClaim`)."""

from __future__ import annotations

from typing import Any

from image_updater import clock, events
from image_updater.distribution import report
from image_updater.distribution.owed import GONE, RESUMED_FROM
from image_updater.domain.chat import notification_event
from image_updater.domain.messages import MessageContext
from image_updater.errors import InvalidExecutionInput
from image_updater.observability import count, instrumented, logger


@instrumented
def handler(event: Any, context: Any) -> dict[str, Any]:
    if not isinstance(event, dict) or not isinstance(event.get("task"), dict):
        raise InvalidExecutionInput("expected {task: {...}, executionArn: ...}")
    state: dict[str, Any] = event["task"]
    # The e-mails' context; an update's hours play no part in this one.
    ctx = MessageContext.of_run(str(event["executionArn"]), clock.utc_now(), 0)
    root, new_image = str(state["rootImageName"]), str(state["newImageName"])
    owed = state.get("result")
    if not isinstance(owed, dict):
        owed = {}
    resumed_from, gone = owed.get(RESUMED_FROM), owed.get(GONE)
    if gone:
        notification = report.compose_abandoned(root, new_image, str(gone), resumed_from, ctx)
        published = report.abandoned_events(root, new_image, str(gone), ctx)
    else:
        found = report.results(list(state.get("regions") or ()), ctx.region)
        notification = report.compose(root, new_image, found, ctx, resumed_from)
        published = report.events(root, new_image, found, ctx)
    for detail_type, detail in published:
        events.publish(detail_type, detail)
    if notification.failed:
        count("DistributionsIncomplete")
    logger.append_keys(image=root, new_image=new_image, execution_id=ctx.execution_arn)
    logger.info("Distribution report written", extra={"outcome": notification.outcome})
    claim = report.report_claim(root, new_image, str(state["executionId"]), ctx.now)
    return {**notification_event(notification, event), "reportClaim": claim}
