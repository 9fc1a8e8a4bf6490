"""Writes the e-mail of a roll-out milestone; the state machine sends it. A decision that
ends the roll-out (rejected, timed out) is also announced here: no other step sees it."""

from __future__ import annotations

from typing import Any

from image_updater import clock, events, settings
from image_updater.domain.messages import MessageContext
from image_updater.observability import instrumented, logger
from image_updater.rollout import messages
from image_updater.rollout.models import APPROVAL_TIMED_OUT, REJECTED, ROLLOUT_FAILED, Rollout

_ENDING_EVENTS = {REJECTED: events.ROLLOUT_REJECTED, APPROVAL_TIMED_OUT: events.APPROVAL_TIMED_OUT}


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    execution_arn: str = event["executionArn"]
    _, partition, _, region, *_ = execution_arn.split(":")
    rollout = Rollout.from_event(event["task"])
    if event.get("outcome"):  # an e-mail in the middle of the roll-out says which one
        rollout = rollout.evolve(outcome=event["outcome"])
    if rollout.error and rollout.outcome is None:
        rollout = rollout.evolve(outcome=ROLLOUT_FAILED)
    ctx = MessageContext(
        region=region,
        partition=partition,
        execution_arn=execution_arn,
        now=clock.utc_now(),
        max_update_hours=settings.max_update_hours(),
    )
    notification = messages.compose(rollout, ctx, settings.RolloutSettings.from_env())
    if rollout.outcome in _ENDING_EVENTS:
        approval = rollout.approval or {}
        events.publish(
            _ENDING_EVENTS[rollout.outcome],
            events.fleet_change(
                rollout.outcome or "",
                root=rollout.root_image_name,
                new_image_name=rollout.new_image_name,
                new_image_arn=rollout.new_image_arn,
                execution_arn=execution_arn,
                stage="production",
                by=str(approval.get("by") or "") or None,
                reason=str(approval.get("reason") or "") or None,
            ),
        )
    logger.append_keys(image=rollout.root_image_name, execution_id=execution_arn)
    logger.info(
        "Roll-out report written",
        extra={"outcome": notification.outcome, "subject": notification.subject},
    )
    return notification.to_event()
