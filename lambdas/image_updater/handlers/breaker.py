"""Counts a finished run toward the circuit breaker; at maxConsecutiveFailedRuns failed
scheduled runs in a row it pauses the schedule, writes the e-mail the state machine sends,
and publishes a "Schedule Paused" event. Its errors never change the run's own result: the
workflow catches them and ends as the run's images decided."""

from __future__ import annotations

from typing import Any

from image_updater import clock
from image_updater.breaker.ledger import BreakerLedger
from image_updater.breaker.service import OFF, BreakerResult, FinishedRun, record_run
from image_updater.breaker.settings import BreakerSettings
from image_updater.observability import count, instrumented, logger
from image_updater.scheduler import Schedule


def _record(run: FinishedRun, breaker: BreakerSettings) -> BreakerResult:
    if not breaker.enabled:  # the function is given neither the ledger nor the schedule
        return BreakerResult(OFF)
    return record_run(
        run,
        BreakerLedger(),
        Schedule(breaker.schedule_name, breaker.schedule_group),
        breaker.max_consecutive_failed_runs,
        clock.utc_now(),
    )


@instrumented
def handler(event: Any, context: Any) -> dict[str, Any]:
    breaker = BreakerSettings.from_env()
    run = FinishedRun.from_event(event)
    logger.append_keys(execution_id=run.execution_arn)
    result = _record(run, breaker)
    logger.info(
        "Run recorded",
        extra={
            "action": result.action,
            "consecutive_failed_runs": result.consecutive_failed_runs,
            "cleared": result.cleared,
        },
    )
    output = {**result.to_json(), "notification": None}
    if not result.paused:
        return output
    count("SchedulePaused")
    # The e-mail's and the event's code is loaded only here: most runs end without a pause.
    from image_updater import events
    from image_updater.breaker.messages import compose_schedule_paused
    from image_updater.domain.chat import notification_event
    from image_updater.domain.messages import MessageContext

    notification = compose_schedule_paused(
        MessageContext.of_run(run.execution_arn, clock.utc_now(), breaker.max_update_hours),
        schedule=result.schedule or {"Name": breaker.schedule_name},
        consecutive_failed_runs=result.consecutive_failed_runs,
        limit=breaker.max_consecutive_failed_runs,
        failed_executions=result.failed_executions,
    )
    events.publish(
        events.SCHEDULE_PAUSED,
        events.schedule_paused(
            breaker.schedule_name,
            consecutive_failed_runs=result.consecutive_failed_runs,
            execution_arn=run.execution_arn,
            reason=(
                f"{result.consecutive_failed_runs} scheduled runs failed in a row "
                f"(maxConsecutiveFailedRuns {breaker.max_consecutive_failed_runs})"
            ),
        ),
    )
    return {**output, "notification": notification_event(notification, event)}
