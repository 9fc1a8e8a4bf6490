"""Records how a run ended, and pauses the schedule when too many scheduled runs in a row
failed.

What counts:
- a scheduled run that failed (at least one image failed): one more in a row;
- any run that succeeded (every image fine), scheduled or started by hand: the count starts
  again from 0;
- a run started by hand that failed, and any dry run: nothing. Someone is trying things out;
  their run neither trips the breaker nor clears it;
- a run in which nothing failed but some image could not be checked (AppStream or the ledger
  throttled or unreachable after retries, see update/messages/could_not_check.py): nothing
  either. It is no failure of the updates, and no evidence that they work.
When the count reaches `maxConsecutiveFailedRuns`, exactly one run pauses the schedule (see
`BreakerLedger.claim_pause`) and the workflow e-mails that once. A schedule found paused already (by
an earlier trip, or by hand) is left as it is, without an e-mail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from image_updater.breaker.ledger import PauseClaim
from image_updater.domain.run_input import STARTED_BY_SCHEDULE
from image_updater.errors import InvalidExecutionInput
from image_updater.scheduler import DISABLED, StateChange

# What the step did.
OFF = "OFF"  # maxConsecutiveFailedRuns is 0
IGNORED = "IGNORED"  # a dry run, or a failed run started by hand
RESET = "RESET"  # the run succeeded: the count starts again
COUNTED = "COUNTED"  # one more failed scheduled run, below the limit (or another run pauses)
PAUSED = "PAUSED"  # this run paused the schedule: e-mail it
ALREADY_PAUSED = "ALREADY_PAUSED"  # the limit is reached and the schedule is paused already


@dataclass(frozen=True)
class FinishedRun:
    """What the workflow knows at its end, passed to the breaker's step."""

    execution_arn: str
    started_by: str | None
    dry_run: bool
    any_failed: bool
    any_unchecked: bool = False  # an image's result was "could not check"

    @property
    def scheduled(self) -> bool:
        return self.started_by == STARTED_BY_SCHEDULE

    @classmethod
    def from_event(cls, event: Any) -> FinishedRun:
        if not isinstance(event, Mapping):
            raise InvalidExecutionInput(f"expected a JSON object, got {type(event).__name__}")
        arn, started_by = event.get("executionArn"), event.get("startedBy")
        dry_run, any_failed = event.get("dryRun"), event.get("anyFailed")
        any_unchecked = event.get("anyUnchecked", False)
        if (
            not isinstance(arn, str)
            or not (started_by is None or isinstance(started_by, str))
            or not isinstance(dry_run, bool)
            or not isinstance(any_failed, bool)
            or not isinstance(any_unchecked, bool)
        ):
            raise InvalidExecutionInput(f"malformed run summary {dict(event)!r:.300}")
        return cls(arn, started_by, dry_run, any_failed, any_unchecked)


class LedgerPort(Protocol):
    def record_failed_scheduled_run(
        self, execution_arn: str, now: datetime
    ) -> tuple[int, tuple[str, ...]]: ...
    def reset_breaker(self) -> int: ...
    def claim_pause(self, execution_arn: str, now: datetime) -> PauseClaim: ...
    def release_pause(self, execution_arn: str) -> None: ...


class SchedulePort(Protocol):
    def set_state(self, state: str) -> StateChange: ...


@dataclass(frozen=True)
class BreakerResult:
    action: str
    consecutive_failed_runs: int = 0
    failed_executions: tuple[str, ...] = ()  # the last ones, oldest first
    schedule: Mapping[str, Any] | None = None  # as it is now, when the step looked at it
    cleared: int = 0  # RESET: the count there was

    @property
    def paused(self) -> bool:
        return self.action == PAUSED

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "paused": self.paused,
            "consecutiveFailedRuns": self.consecutive_failed_runs,
        }


def record_run(
    run: FinishedRun,
    ledger: LedgerPort,
    schedule: SchedulePort,
    limit: int,
    now: datetime,
) -> BreakerResult:
    """Count the run toward the breaker (or reset it), and pause the schedule at `limit`
    (1 or more; 0 turns the breaker off before anything is read)."""
    if limit < 1:
        return BreakerResult(OFF)
    if run.dry_run:
        return BreakerResult(IGNORED)
    if not run.any_failed and run.any_unchecked:
        return BreakerResult(IGNORED)
    if not run.any_failed:
        return BreakerResult(RESET, cleared=ledger.reset_breaker())
    if not run.scheduled:
        return BreakerResult(IGNORED)
    count, recent = ledger.record_failed_scheduled_run(run.execution_arn, now)
    counted = BreakerResult(COUNTED, count, recent)
    if count < limit:
        return counted
    claim = ledger.claim_pause(run.execution_arn, now)
    if not claim.held:
        return counted  # another run that failed at the same moment is pausing it
    try:
        change = schedule.set_state(DISABLED)
    except Exception:
        ledger.release_pause(run.execution_arn)  # so that the next failed run tries again
        raise
    # Found paused: by someone else, or by this very run's step before a retry of it.
    action = PAUSED if change.changed or claim.again else ALREADY_PAUSED
    return BreakerResult(action, count, recent, change.schedule)
