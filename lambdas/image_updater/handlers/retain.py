"""Deletes a lineage's older images beyond keepImages after an update settled (ready or
failed)."""

from __future__ import annotations

from image_updater import clock, settings
from image_updater.handlers import task_step
from image_updater.integrations.appstream.fleets import AppStreamFleets
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.models import UpdateTask
from image_updater.observability import count, logger
from image_updater.retention.service import retire_old_images


def retain(task: UpdateTask) -> UpdateTask:
    result = retire_old_images(
        task.root_image_name,
        AppStreamImages(),
        AppStreamFleets(),
        settings.RetainSettings.from_env().keep_images,
        clock.utc_now(),
    )
    if result.deleted:
        from image_updater import events  # loaded only when there is something to announce

        count("ImagesDeleted", len(result.deleted))
        events.publish(
            events.IMAGES_DELETED,
            events.images_deleted(task.root_image_name, result.deleted_images, task.execution_id),
        )
    logger.info(
        "Retention applied", extra={"deleted": list(result.deleted), "kept": list(result.kept)}
    )
    return task.evolve(retention=result.to_json())


handler = task_step(retain)
