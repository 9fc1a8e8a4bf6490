"""After the wait for approval (answered or timed out): the decision counts only if the
approval function recorded it in the ledger, with the identity AWS verified. Anything else
that ended the wait (a bare SendTaskSuccess with a leaked token) is ignored: its content
was discarded by the wait task, and the roll-out waits again until the original deadline."""

from __future__ import annotations

from typing import Any

from image_updater import clock
from image_updater.approval.ledger import ApprovalLedger
from image_updater.handlers import rollout_step
from image_updater.rollout.models import Rollout


def verify(rollout: Rollout, _event: dict[str, Any]) -> Rollout:
    # The wait's timeout comes here too (as `error`): a decision recorded just before the
    # deadline, whose answer did not reach the task in time, still counts.
    timed_out = rollout.error is not None
    rollout = rollout.evolve(error=None)
    record = ApprovalLedger().get(rollout.execution_id, rollout.root_image_name)
    decided = record.decided() if record else None
    if decided is not None:
        return rollout.evolve(approval=decided)
    now = clock.utc_now()
    remaining = 0 if timed_out or record is None else int((record.deadline - now).total_seconds())
    ignored = int((rollout.approval or {}).get("ignored") or 0) + (0 if timed_out else 1)
    return rollout.evolve(
        approval={
            "ignored": ignored,
            "ignoredAt": now.isoformat().replace("+00:00", "Z"),
            "waitSeconds": max(0, remaining),
            "deadline": record.deadline.isoformat().replace("+00:00", "Z") if record else None,
        }
    )


handler = rollout_step(verify)
