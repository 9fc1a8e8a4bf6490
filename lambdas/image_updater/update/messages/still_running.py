"""The update was still building when `maxUpdateHours` ran out: this run stopped waiting."""

from __future__ import annotations

from image_updater.domain.messages import MessageContext, email, table
from image_updater.models import TIMED_OUT, Notification
from image_updater.update.messages.hints import hint
from image_updater.update.messages.parts import footer, image_rows
from image_updater.update.task import UpdateTask


def compose(task: UpdateTask, ctx: MessageContext) -> Notification:
    return email(
        f"AppStream image update still running: {task.root_image_name}",
        f"The update of {task.root_image_name} was still running after "
        f"{ctx.max_update_hours} h (maxUpdateHours), so this run stopped waiting.",
        table(image_rows(task, ctx)),
        f"What to do: {hint(TIMED_OUT)}",
        footer(task, ctx),
        outcome=TIMED_OUT,
        image=task.root_image_name,
        failed=True,
        new_image_name=task.new_image_name,
    )
