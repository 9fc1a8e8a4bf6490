"""The update failed: AppStream's reason and errors, or the error that stopped the run, and
what to do about it."""

from __future__ import annotations

from typing import Any

from image_updater.domain.messages import MessageContext, email, error_details, table, when
from image_updater.models import FAILED, Notification
from image_updater.update.messages.hints import hint
from image_updater.update.messages.parts import earlier_run, footer, image_rows, retention
from image_updater.update.task import UpdateTask


def compose(task: UpdateTask, ctx: MessageContext, error: dict[str, Any] | None) -> Notification:
    name, cause = error_details(error)
    image = task.image
    rows = image_rows(task, ctx)
    if image and image.state == FAILED:
        reason = ": ".join(filter(None, (image.reason_code or "UNKNOWN", image.reason_message)))
        rows.append(("Reason", reason))
    if name:
        rows.append(("Error", name))
    image_errors = ""
    if image and image.errors:
        more = (
            f"\n  ... and {image.more_errors} more (see the image in the console)"
            if image.more_errors
            else ""
        )
        image_errors = (
            "Image errors reported by AppStream:\n"
            + "\n".join(f"  - {e.code}: {e.message} ({when(e.timestamp)})" for e in image.errors)
            + more
        )
    error_codes = [e.code for e in image.errors] if image else []
    return email(
        f"AppStream image update FAILED: {task.root_image_name}",
        f"The update of the AppStream image {task.root_image_name} failed.",
        earlier_run(task),
        table(rows),
        f"What happened: {cause}" if cause else "",
        image_errors,
        f"What to do: {hint(name, image.reason_code if image else None, *error_codes)}",
        (
            f"AppStream quotas in Service Quotas: {ctx.quotas_url()}"
            if name == "UpdateQuotaExceeded"
            else ""
        ),
        retention(task),
        footer(task, ctx),
        outcome=FAILED,
        image=task.root_image_name,
        failed=True,
        new_image_name=task.new_image_name,
    )
