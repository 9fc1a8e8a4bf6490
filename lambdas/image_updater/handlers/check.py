"""Finds the image to update and dry-runs CreateUpdatedImage on it."""

from __future__ import annotations

from image_updater import service
from image_updater.appstream import AppStreamImages
from image_updater.handlers import task_step
from image_updater.models import NO_UPDATE, UpdateTask
from image_updater.observability import count


def check(task: UpdateTask) -> UpdateTask:
    result = service.check(task, AppStreamImages())
    if result.action == NO_UPDATE:
        count("NoUpdate")
    return result


handler = task_step(check)
