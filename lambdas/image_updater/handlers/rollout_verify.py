"""After the wait for approval (answered, failed or timed out): the decision counts only if
the approval function recorded it in the ledger, with the identity AWS verified. Anything
else that ended the wait by its token (a bare SendTaskSuccess or SendTaskFailure with a
leaked token) is ignored: its content was discarded by the wait task, and the roll-out waits
again until the original deadline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from image_updater import clock
from image_updater.approval.ledger import ApprovalLedger
from image_updater.errors import ImageUpdaterError
from image_updater.handlers import rollout_step
from image_updater.rollout.models import Rollout

_TIMEOUT = "States.Timeout"
# The task's timeout starts a moment before the wait step writes the deadline: a timeout
# this close to the deadline is the real one; an earlier "States.Timeout" came by the token.
_TIMEOUT_SLACK = timedelta(minutes=5)
# Each ignored answer costs an e-mail and about ten history events: past this many, someone
# is replaying a leaked token, and the roll-out stops (production untouched) rather than let
# them fill the team's inbox and the run's 25,000-event history.
IGNORED_MAX = 20


class TooManyIgnoredAnswers(ImageUpdaterError):
    """More than IGNORED_MAX answers ended the wait without the approval function."""


class ApprovalWaitFailed(Exception):
    """The wait step's own function failed (it never stored this wait's token, so no answer
    could have ended it): the roll-out stops, production untouched."""


def verify(rollout: Rollout, _event: dict[str, Any]) -> Rollout:
    error = rollout.error
    rollout = rollout.evolve(error=None)
    record = ApprovalLedger().get(rollout.execution_id, rollout.root_image_name)
    decided = record.decided() if record else None
    if decided is not None:
        return rollout.evolve(approval=decided)
    now = clock.utc_now()
    before = int((rollout.approval or {}).get("ignored") or 0)
    name = (error or {}).get("Error")
    if error is not None and name != _TIMEOUT and (record is None or record.waits <= before):
        # This wait's token never reached the ledger: nobody could have answered it.
        raise ApprovalWaitFailed(f"{name}: the wait for approval failed")
    # A decision recorded just before the deadline whose answer did not reach the task in
    # time was taken above; without one, the deadline passing ends the roll-out.
    timed_out = record is None or (name == _TIMEOUT and now >= record.deadline - _TIMEOUT_SLACK)
    remaining = 0 if timed_out or record is None else int((record.deadline - now).total_seconds())
    ignored = before + (0 if timed_out else 1)
    if ignored > IGNORED_MAX:
        raise TooManyIgnoredAnswers(
            f"{ignored} answers ended the wait for approval without coming from the approval "
            "function (a leaked task token replayed with states:SendTaskSuccess or "
            "SendTaskFailure: see CloudTrail for who sent them). The roll-out stopped; "
            "production fleets were left as they are."
        )
    return rollout.evolve(
        approval={
            "ignored": ignored,
            "ignoredAt": now.isoformat().replace("+00:00", "Z"),
            "waitSeconds": max(0, remaining),
            "deadline": record.deadline.isoformat().replace("+00:00", "Z") if record else None,
        }
    )


handler = rollout_step(verify)
