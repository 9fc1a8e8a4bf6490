"""Starts the managed image update."""

from __future__ import annotations

from image_updater import service, settings
from image_updater.appstream import AppStreamImages
from image_updater.handlers import task_step
from image_updater.models import UpdateTask
from image_updater.observability import count


def create(task: UpdateTask) -> UpdateTask:
    result = service.create(
        task,
        AppStreamImages(),
        service.CreateSettings(
            extra_tags=settings.new_image_tags(),
            configured_images=settings.configured_images(),
            max_concurrent_updates=settings.max_concurrent_updates(),
        ),
    )
    count("UpdatesStarted")
    return result


handler = task_step(create)
