"""The rule that keeps "could not check" apart from "failed", and its e-mail.

An error names what went wrong with the run, not with the image, when it is one of
COULD_NOT_CHECK_ERRORS: AppStream or the ledger throttled, was unreachable or busy after every
retry, a Lambda step timed out or the Lambda service failed, or another run held the lineage's
lock. Whatever the step (the first check, the create, a status check) and whether or not an
update is building, such a run could not check: it is e-mailed as CHECK_FAILED with
`failed: false`. Nothing failed, so it never ends the run FAILED and the breaker neither counts
nor resets for it (breaker/service.py); the next run tries again, or follows the image and
e-mails its final result. (A create step that timed out is the one exception: not_confirmed.py
e-mails it as "update not confirmed", since AppStream may have accepted it.)
"""

from __future__ import annotations

from typing import Any

from image_updater.domain.messages import MessageContext, email, error_details, table
from image_updater.errors import (
    LAMBDA_TIMEOUT_ERRORS,
    TRANSIENT_ERRORS,
    LineageBusy,
    UpdatesLockBusy,
)
from image_updater.models import CHECK_FAILED, Notification
from image_updater.update.messages.hints import hint
from image_updater.update.messages.parts import footer, image_rows
from image_updater.update.task import UpdateTask

COULD_NOT_CHECK_ERRORS = frozenset(
    {
        *TRANSIENT_ERRORS,
        *LAMBDA_TIMEOUT_ERRORS,
        LineageBusy.__name__,
        UpdatesLockBusy.__name__,
        "Lambda.ServiceException",
        "Lambda.TooManyRequestsException",
    }
)


def applies(error_name: str | None) -> bool:
    return error_name in COULD_NOT_CHECK_ERRORS


def compose(task: UpdateTask, ctx: MessageContext, error: dict[str, Any]) -> Notification:
    """This run lost track of the image, or never got to look: not a failure of the update."""
    name, cause = error_details(error)
    building = task.image is not None
    rows = [*image_rows(task, ctx), ("Error", name)]
    if building:
        situation = (
            f"This run could not check the update of {task.root_image_name}: AppStream was "
            f"still building {task.new_image_name} when it last looked. The update itself "
            "may well be fine."
        )
        next_step = "the next run follows the image and e-mails its final result (ready or failed)."
    elif task.action is None:
        situation = (
            f"This run could not check {task.root_image_name} for updates. Nothing failed and "
            "nothing was changed; an update an earlier run started, if any, carries on."
        )
        next_step = "the next run checks again (and reports any update that has finished)."
    else:
        situation = (
            f"This run could not start the update of {task.root_image_name}. Nothing failed "
            "and nothing was changed."
        )
        next_step = "the next scheduled run tries again."
    return email(
        f"AppStream image updater could not check: {task.root_image_name}",
        situation,
        table(rows),
        f"What happened: {cause}" if cause else "",
        f"What to do: nothing for this image; {next_step} {hint(name)}",
        footer(task, ctx),
        outcome=CHECK_FAILED,
        image=task.root_image_name,
        failed=False,
        new_image_name=task.new_image_name if building else None,
    )
