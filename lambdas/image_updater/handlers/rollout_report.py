"""Writes the e-mail of a roll-out milestone; the state machine sends it. A decision that
ends the roll-out (rejected, timed out) is also announced here: no other step sees it."""

from __future__ import annotations

from typing import Any

from image_updater import clock
from image_updater.domain.chat import notification_event
from image_updater.domain.messages import MessageContext
from image_updater.errors import shortened
from image_updater.observability import instrumented, logger
from image_updater.rollout import messages, policy
from image_updater.rollout.models import PREVIOUS_IMAGE_TAG, FleetNote, Rollout
from image_updater.rollout.outcomes import APPROVAL_TIMED_OUT, REJECTED, ROLLOUT_FAILED
from image_updater.rollout.settings import RolloutSettings
from image_updater.update.settings import ReportSettings

# Decisions that end the roll-out, announced as events. The events' and the fleets' code load
# only for the e-mails that need them (most of a roll-out's e-mails need neither).
_ENDINGS = (REJECTED, APPROVAL_TIMED_OUT)


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    execution_arn: str = event["executionArn"]
    rollout = Rollout.from_event(event["task"])
    if event.get("outcome"):  # an e-mail in the middle of the roll-out says which one
        rollout = rollout.evolve(outcome=event["outcome"])
    if rollout.error and rollout.outcome is None:
        rollout = rollout.evolve(outcome=ROLLOUT_FAILED)
    if rollout.outcome == ROLLOUT_FAILED:
        rollout = _fleets_on_the_new_image(rollout)
    ctx = MessageContext.of_run(
        execution_arn, clock.utc_now(), ReportSettings.from_env().max_update_hours
    )
    notification = messages.compose(rollout, ctx, RolloutSettings.from_env())
    if rollout.outcome in _ENDINGS:
        from image_updater import events

        detail_type = {
            REJECTED: events.ROLLOUT_REJECTED,
            APPROVAL_TIMED_OUT: events.APPROVAL_TIMED_OUT,
        }
        approval = rollout.approval or {}
        events.publish(
            detail_type[rollout.outcome],
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
    return notification_event(notification, event)


def _fleets_on_the_new_image(rollout: Rollout) -> Rollout:
    """A step that failed for good may have changed fleets before it did (its changes are not
    in the state it failed with): read them again, so the e-mail says what is true now."""
    from image_updater.integrations.appstream.fleets import AppStreamFleets

    try:
        on_it = [
            fleet
            for fleet in AppStreamFleets().all_fleets()
            if policy.follows(fleet, rollout.root_image_name)
            and fleet.runs(rollout.new_image_name, rollout.new_image_arn)
        ]
    except Exception as error:  # the e-mail goes out whatever happens here
        return rollout.evolve(fleets_read_error=shortened(f"{type(error).__name__}: {error}", 300))
    return rollout.evolve(
        updated=tuple(
            FleetNote(fleet.name, fleet.stage, fleet.tags.get(PREVIOUS_IMAGE_TAG))
            for fleet in on_it
        )
    )
