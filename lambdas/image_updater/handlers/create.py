"""Starts the managed image update (or follows the one another run has just started)."""

from __future__ import annotations

from image_updater import clock, service, settings
from image_updater.appstream import AppStreamImages
from image_updater.handlers import task_step
from image_updater.ledger import Ledger
from image_updater.models import UpdateTask
from image_updater.observability import count


def create(task: UpdateTask) -> UpdateTask:
    result = service.create(
        task,
        AppStreamImages(),
        Ledger(),
        service.CreateSettings(
            extra_tags=settings.new_image_tags(),
            configured_images=settings.configured_images(),
            max_concurrent_updates=settings.max_concurrent_updates(),
        ),
        clock.utc_now(),
    )
    if result.new_image_name == task.new_image_name and result.image is not None:
        count("UpdatesStarted")
    return result


handler = task_step(create)
