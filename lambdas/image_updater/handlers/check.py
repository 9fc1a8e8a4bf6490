"""Finds the image to update and dry-runs CreateUpdatedImage on it."""

from __future__ import annotations

from image_updater import clock
from image_updater.handlers import task_step
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.models import LATE_REPORT, NO_UPDATE, UpdateTask
from image_updater.observability import count
from image_updater.update import check as update
from image_updater.update.ledger import UpdateLedger


def check(task: UpdateTask) -> UpdateTask:
    result = update.check(task, AppStreamImages(), UpdateLedger(), clock.utc_now())
    if result.action == NO_UPDATE:
        count("NoUpdate")
    elif result.action == LATE_REPORT and not task.dry_run:
        count("LateReports")
    return result


handler = task_step(check)
