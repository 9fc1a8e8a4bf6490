"""Checks the state of the image being built (one DescribeImages call)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from image_updater import clock
from image_updater.handlers import task_step
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.models import FAILED, SUCCEEDED, TIMED_OUT
from image_updater.observability import MetricUnit, count
from image_updater.update import poll as update
from image_updater.update.settings import PollSettings
from image_updater.update.task import UpdateTask

if TYPE_CHECKING:
    from image_updater.update.poll import PollLedgerPort

_OUTCOME_METRICS = {
    SUCCEEDED: "UpdatesSucceeded",
    FAILED: "UpdatesFailed",
    TIMED_OUT: "UpdatesTimedOut",
}


def poll(task: UpdateTask) -> UpdateTask:
    result = update.poll(
        task,
        AppStreamImages(),
        _ledger,
        PollSettings.from_env().max_polls,
        clock.utc_now(),
    )
    if result.outcome in _OUTCOME_METRICS:
        count(_OUTCOME_METRICS[result.outcome])
        if result.image and result.image.created_time:
            began = datetime.fromisoformat(result.image.created_time)
            minutes = (clock.utc_now() - began).total_seconds() / 60
            # CloudWatch has no minutes unit: the name carries it.
            count("UpdateDurationMinutes", minutes, MetricUnit.NoUnit)
    return result


def _ledger() -> PollLedgerPort:
    # Loaded when an image settles or is not found: most status checks never need the ledger.
    from image_updater.update.ledger_creates import CreateLedger

    return CreateLedger()


handler = task_step(poll)
