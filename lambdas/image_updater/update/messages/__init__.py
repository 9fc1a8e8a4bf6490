"""The update's e-mails, one module per outcome: ready, failed, no update, still running
(`maxUpdateHours` ran out), not confirmed (the step that starts the update timed out), could
not check, and a run refused before any image was looked at (`run_refused`). `compose` picks
the one for an image's outcome; they are put together from the parts in `parts.py` and the
hints in `hints.py`, with the kit every capability's e-mails share (`domain/messages.py`)."""

from __future__ import annotations

from typing import Any

from image_updater.domain.messages import MessageContext, error_details
from image_updater.errors import LAMBDA_TIMEOUT_ERRORS
from image_updater.models import NO_UPDATE, SUCCEEDED, TIMED_OUT, UPDATE, Notification
from image_updater.update.messages import (
    could_not_check,
    failed,
    no_update,
    not_confirmed,
    ready,
    still_running,
)
from image_updater.update.task import UpdateTask


def compose(
    task: UpdateTask, ctx: MessageContext, error: dict[str, Any] | None = None
) -> Notification:
    """The e-mail for one image's outcome. `error` is what a Catch rule captured, if any."""
    if error:
        name, _ = error_details(error)
        if task.action == UPDATE and task.image is None and name in LAMBDA_TIMEOUT_ERRORS:
            return not_confirmed.compose(task, ctx, error)
        if could_not_check.applies(name):
            return could_not_check.compose(task, ctx, error)
        return failed.compose(task, ctx, error)
    if task.outcome == SUCCEEDED:
        return ready.compose(task, ctx)
    if task.outcome == NO_UPDATE:
        return no_update.compose(task, ctx)
    if task.outcome == TIMED_OUT:
        return still_running.compose(task, ctx)
    return failed.compose(task, ctx, None)
