"""A run whose input was refused (or that could not start) before any image was looked at."""

from __future__ import annotations

from typing import Any

from image_updater.domain.messages import MessageContext, email, error_details
from image_updater.models import REJECTED, Notification
from image_updater.update.messages.hints import hint
from image_updater.update.messages.parts import footer


def compose_rejected_run(ctx: MessageContext, error: dict[str, Any]) -> Notification:
    """The e-mail for a run whose input was refused before any image was looked at."""
    name, cause = error_details(error)
    return email(
        "AppStream image updater: run refused (invalid input)"
        if name == "InvalidExecutionInput"
        else "AppStream image updater: run could not start",
        "A run of the AppStream image updater was refused and updated nothing.",
        f"Error: {name}" + (f"\nWhat happened: {cause}" if cause else ""),
        f"What to do: {hint(name)}",
        footer(None, ctx),
        outcome=REJECTED,
        image="-",
        failed=True,
    )
