"""The update succeeded: a new image is ready."""

from __future__ import annotations

from image_updater.domain.messages import MessageContext, email, table
from image_updater.models import SUCCEEDED, Notification, UpdateTask
from image_updater.update.messages.parts import earlier_run, footer, image_rows, retention


def compose(task: UpdateTask, ctx: MessageContext) -> Notification:
    return email(
        f"AppStream image ready: {task.new_image_name}",
        "A new AppStream image with the latest operating system, driver and agent updates is "
        "ready.",
        earlier_run(task),
        table(image_rows(task, ctx, end_label="Finished")),
        retention(task),
        "Next: test the image (start an image builder or a staging fleet from it), then "
        "point your fleets at it. Fleets tagged AppStreamImageUpdater:Image="
        f"{task.root_image_name} get it from the updater's roll-out instead, canary first, "
        "with e-mails of their own.",
        ctx.distribution,
        footer(task, ctx),
        outcome=SUCCEEDED,
        image=task.root_image_name,
        new_image_name=task.new_image_name,
    )
