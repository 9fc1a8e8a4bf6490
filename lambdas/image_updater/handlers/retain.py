"""Deletes a lineage's older images beyond keepImages after an update settled (ready or
failed): in the hub's Region and, with distribution, in each copy Region, first removing the
shares no account uses any more (retention/everywhere.py)."""

from __future__ import annotations

from image_updater import clock
from image_updater.handlers import task_step
from image_updater.integrations.appstream.fleets import AppStreamFleets
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.observability import count, logger
from image_updater.retention.everywhere import retire_everywhere, to_json
from image_updater.retention.service import (
    ImageUsersPort,
    RetentionPort,
    RetentionResult,
    SharesPort,
)
from image_updater.retention.settings import RetainSettings
from image_updater.update.task import UpdateTask


class _Regions:
    """The ports of the hub's Region (None) and of each copy Region."""

    def __init__(self, config: RetainSettings) -> None:
        self._accounts = config.share_accounts

    def __call__(
        self, region: str | None
    ) -> tuple[RetentionPort, ImageUsersPort, SharesPort | None]:
        shares: SharesPort | None = None
        if self._accounts:  # loaded only when the hub shares
            from image_updater.integrations.appstream.consumers import SpokeReaders

            shares = SpokeReaders(self._accounts, region)
        if region is None:
            return AppStreamImages(), AppStreamFleets(), shares
        from image_updater.integrations.appstream.consumers import regional

        # One client per Region for reads and the deletion alike: the change kind, which the
        # SDK never re-sends (a throttled read fails that Region's retention, reported; the
        # next settled update tries again).
        client = regional(region)
        return AppStreamImages(client), AppStreamFleets(client), shares


def retain(task: UpdateTask) -> UpdateTask:
    config = RetainSettings.from_env()
    home, regions = retire_everywhere(
        task.root_image_name,
        config.copy_regions,
        _Regions(config),
        config.keep_images,
        clock.utc_now(),
    )
    deleted = [
        *home.deleted_images,
        *(i for r in regions if isinstance(r, RetentionResult) for i in r.deleted_images),
    ]
    if deleted:
        from image_updater import events  # loaded only when there is something to announce

        count("ImagesDeleted", len(deleted))
        events.publish(
            events.IMAGES_DELETED,
            events.images_deleted(task.root_image_name, tuple(deleted), task.execution_id),
        )
    logger.info("Retention applied", extra={"deleted": list(home.deleted), "kept": list(home.kept)})
    return task.evolve(retention=to_json(home, regions))


handler = task_step(retain)
