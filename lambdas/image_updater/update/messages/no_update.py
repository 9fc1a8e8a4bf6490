"""No update is available for the lineage's newest image (sent only if `notifyOnNoUpdate`)."""

from __future__ import annotations

from image_updater.domain.messages import MessageContext, email
from image_updater.models import NO_UPDATE, Notification
from image_updater.update.messages.parts import footer
from image_updater.update.task import UpdateTask


def compose(task: UpdateTask, ctx: MessageContext) -> Notification:
    newest = task.source.name if task.source else task.root_image_name
    return email(
        f"AppStream image up to date: {task.root_image_name}",
        f"No updates are available for {newest}, the newest image of the lineage of "
        f"{task.root_image_name}. Nothing was created.",
        footer(task, ctx),
        outcome=NO_UPDATE,
        image=task.root_image_name,
    )
