"""The update succeeded: a new image is ready."""

from __future__ import annotations

from image_updater.domain import patch_age
from image_updater.domain.messages import MessageContext, email, table, when
from image_updater.models import SUCCEEDED, Notification
from image_updater.update.messages.parts import earlier_run, footer, image_rows, retention
from image_updater.update.task import UpdateTask


def compose(task: UpdateTask, ctx: MessageContext) -> Notification:
    return email(
        f"AppStream image ready: {task.new_image_name}",
        "A new AppStream image with the latest operating system, driver and agent updates is "
        "ready.",
        earlier_run(task),
        table(image_rows(task, ctx, end_label="Finished")),
        _patch_age(task, ctx),
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


def _patch_age(task: UpdateTask, ctx: MessageContext) -> str:
    """The figure the dashboard, the PatchesTooOld alarm and `run-now status` show (one
    definition: domain/patch_age.py), for the new image and the one it replaces."""
    image, source = task.image, task.source
    if image is None or image.created_time is None:
        return ""
    age = patch_age.patch_age_days(
        built_by_updater=True,
        created=patch_age.parsed(image.created_time),
        base_image_released=None,
        now=ctx.now,
    )
    text = (
        f"Patch age: {_days(age)} (patched by this update, which started "
        f"{when(image.created_time)})."
    )
    if source is not None:
        before = patch_age.patch_age_days(
            built_by_updater=source.name != task.root_image_name,
            created=patch_age.parsed(source.created_time),
            base_image_released=patch_age.parsed(source.base_image_released),
            now=ctx.now,
        )
        if before is not None:
            text += f" {source.name}, which it replaces, had patches {_days(before)} old."
    return text


def _days(count: int | None) -> str:
    return "1 day" if count == 1 else f"{count} days"
