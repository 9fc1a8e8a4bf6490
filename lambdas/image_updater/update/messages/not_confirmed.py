"""The step that starts the update ran out of time: AppStream may have accepted it."""

from __future__ import annotations

from typing import Any

from image_updater.domain.messages import MessageContext, email, error_details, table, when
from image_updater.models import CHECK_FAILED, Notification
from image_updater.update.messages.parts import footer
from image_updater.update.task import UpdateTask


def compose(task: UpdateTask, ctx: MessageContext, error: dict[str, Any]) -> Notification:
    name, _ = error_details(error)
    rows = [
        ("Configured image", task.root_image_name),
        ("Image it may build", task.new_image_name),
        ("Updated from", task.source.name if task.source else None),
        ("Error", name),
        ("Reported", when(ctx.now)),
    ]
    return email(
        f"AppStream image update not confirmed: {task.root_image_name}",
        f"The step that starts the update of {task.root_image_name} did not finish in time, "
        "so this run cannot tell whether AppStream accepted the update.",
        table(rows),
        f"What to do: nothing, usually. If an image named {task.new_image_name} appears in "
        "the AppStream console, it is being built: the next run follows it (it does not start "
        "a second one) and e-mails the result. If no such image appears, the next run starts "
        "the update again.",
        footer(task, ctx),
        outcome=CHECK_FAILED,
        image=task.root_image_name,
        failed=True,
        new_image_name=task.new_image_name,
    )
