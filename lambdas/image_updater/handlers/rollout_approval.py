"""The step that waits for a person (`.waitForTaskToken`): it only announces the wait. The
token stays in the run's history, where the approver's own command reads it: whoever may
approve is decided by IAM (states:GetExecutionHistory and states:SendTaskSuccess on this
state machine), never by holding an e-mail."""

from __future__ import annotations

from typing import Any

from image_updater import events
from image_updater.handlers import rollout_step
from image_updater.rollout.models import Rollout


def announce(rollout: Rollout, _event: dict[str, Any]) -> Rollout:
    events.publish(
        events.APPROVAL_REQUESTED,
        events.fleet_change(
            "WAITING",
            root=rollout.root_image_name,
            new_image_name=rollout.new_image_name,
            new_image_arn=rollout.new_image_arn,
            execution_arn=rollout.execution_id,
            stage="production",
            reason="production: " + (", ".join(rollout.production) or "none tagged yet"),
        ),
    )
    return rollout


handler = rollout_step(announce)
