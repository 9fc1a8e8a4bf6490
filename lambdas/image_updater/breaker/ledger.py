"""The breaker's item in the ledger (the table: `image_updater/ledger.py`), keyed `#breaker`
(no image name starts with `#`): how many scheduled runs in a row failed, the last few of
them, and which run is pausing the schedule right now. It does not expire: only a successful
run or a resume resets it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from image_updater.ledger import LedgerTable, epoch, translated_errors

BREAKER_PARTITION = "#breaker"
_BREAKER_KEY = {"pk": {"S": BREAKER_PARTITION}, "sk": {"S": "state"}}
# The failed runs the breaker remembers (for its e-mail); maxConsecutiveFailedRuns is at most 10.
RECENT_FAILURES_MAX = 10
# Longer than the breaker's step takes (its Lambda timeout is 30 s): while one run pauses the
# schedule, another that fails at the same moment leaves it to that run.
PAUSE_HOLD = timedelta(minutes=3)


class BreakerLedger(LedgerTable):
    """The ledger as the breaker (and `run-now --resume-schedule`) uses it."""

    def record_failed_scheduled_run(
        self, execution_arn: str, now: datetime
    ) -> tuple[int, tuple[str, ...]]:
        """Count one more failed scheduled run (atomically, so overlapping runs each count
        once; a retried step does not count its run twice). Returns the count and the last
        failed runs, oldest first."""
        updated = self._if_condition_holds(
            self._client.update_item,
            Key=_BREAKER_KEY,
            UpdateExpression=(
                "ADD failedRuns :one SET failedExecutions = "
                "list_append(if_not_exists(failedExecutions, :none), :arns), "
                "updatedAt = :now"
            ),
            ConditionExpression=(
                "attribute_not_exists(failedExecutions) OR NOT contains(failedExecutions, :arn)"
            ),
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":none": {"L": []},
                ":arns": {"L": [{"S": execution_arn}]},
                ":arn": {"S": execution_arn},
                ":now": {"N": epoch(now)},
            },
            ReturnValues="ALL_NEW",
        )
        # None: counted already, by an earlier attempt of this step.
        item = dict(updated["Attributes"]) if updated is not None else self._breaker_item()
        count = int(item.get("failedRuns", {}).get("N", "0"))
        arns = [value["S"] for value in item.get("failedExecutions", {}).get("L", [])]
        if len(arns) > RECENT_FAILURES_MAX:
            self._forget_oldest(len(arns))
        return count, tuple(arns[-RECENT_FAILURES_MAX:])

    def _forget_oldest(self, length: int) -> None:
        """Trim the list to its last RECENT_FAILURES_MAX entries (unless another run has just
        changed it: that run trims it then)."""
        extra = length - RECENT_FAILURES_MAX
        self._if_condition_holds(
            self._client.update_item,
            Key=_BREAKER_KEY,
            UpdateExpression="REMOVE "
            + ", ".join(f"failedExecutions[{index}]" for index in range(extra)),
            ConditionExpression="size(failedExecutions) = :length",
            ExpressionAttributeValues={":length": {"N": str(length)}},
        )

    def _breaker_item(self) -> dict[str, Any]:
        with translated_errors():
            found = self._client.get_item(
                TableName=self._table, Key=_BREAKER_KEY, ConsistentRead=True
            )
        return dict(found.get("Item", {}))

    def failed_scheduled_runs(self) -> int:
        """The breaker's count: scheduled runs that failed in a row, up to now."""
        return int(self._breaker_item().get("failedRuns", {}).get("N", "0"))

    def reset_breaker(self) -> int:
        """Forget the failed runs (a run succeeded, or the schedule was resumed); returns the
        count it had."""
        with translated_errors():
            deleted = self._client.delete_item(
                TableName=self._table, Key=_BREAKER_KEY, ReturnValues="ALL_OLD"
            )
        return int(deleted.get("Attributes", {}).get("failedRuns", {}).get("N", "0"))

    def claim_pause(self, execution_arn: str, now: datetime) -> PauseClaim:
        """Whether this run may pause the schedule: exactly one of several runs that trip the
        breaker together may (for PAUSE_HOLD; a retry of the same run holds it again)."""
        updated = self._if_condition_holds(
            self._client.update_item,
            Key=_BREAKER_KEY,
            UpdateExpression="SET pausingBy = :arn, pausingUntil = :until",
            ConditionExpression=(
                "attribute_not_exists(pausingUntil) OR pausingUntil < :now OR pausingBy = :arn"
            ),
            ExpressionAttributeValues={
                ":arn": {"S": execution_arn},
                ":until": {"N": epoch(now + PAUSE_HOLD)},
                ":now": {"N": epoch(now)},
            },
            ReturnValues="ALL_OLD",
        )
        if updated is None:
            return PauseClaim(held=False, again=False)
        before = updated.get("Attributes", {})
        again = before.get("pausingBy", {}).get("S") == execution_arn and int(
            before.get("pausingUntil", {}).get("N", "0")
        ) >= int(epoch(now))
        return PauseClaim(held=True, again=again)

    def release_pause(self, execution_arn: str) -> None:
        """Give the claim up (the pause failed): the next failed scheduled run tries again."""
        self._if_condition_holds(
            self._client.update_item,
            Key=_BREAKER_KEY,
            UpdateExpression="REMOVE pausingBy, pausingUntil",
            ConditionExpression="pausingBy = :arn",
            ExpressionAttributeValues={":arn": {"S": execution_arn}},
        )


class PauseClaim(NamedTuple):
    held: bool  # this run may pause the schedule
    again: bool  # it already held the claim: a retry of its own step
