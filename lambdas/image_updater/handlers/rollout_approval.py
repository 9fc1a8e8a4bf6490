"""The step that waits for a person (`.waitForTaskToken`): it keeps the task token in the
ledger for the approval function (the only answerer the workflow trusts; see
image_updater/approval/) and announces the wait. The token is never logged or e-mailed.
It runs again (new token, same deadline) after an answer the approval function did not
record was ignored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from image_updater import clock, events
from image_updater.approval.ledger import ApprovalLedger
from image_updater.handlers import rollout_step
from image_updater.rollout.models import Rollout


def announce(rollout: Rollout, event: dict[str, Any]) -> Rollout:
    wait_seconds = int((rollout.approval or {}).get("waitSeconds") or 0)
    ApprovalLedger().await_answer(
        rollout.execution_id,
        rollout.root_image_name,
        rollout.new_image_name,
        str(event["taskToken"]),
        deadline=clock.utc_now() + timedelta(seconds=wait_seconds),
    )
    if int((rollout.approval or {}).get("ignored") or 0):
        return rollout  # waiting again: the request was announced the first time
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
