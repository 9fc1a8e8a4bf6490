"""Finds the image to update and dry-runs CreateUpdatedImage on it."""

from __future__ import annotations

from datetime import datetime

from image_updater import clock
from image_updater.domain import patch_age
from image_updater.handlers import task_step
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.models import LATE_REPORT, NO_UPDATE, ImageSummary
from image_updater.observability import MetricUnit, count, per_lineage
from image_updater.update import check as update
from image_updater.update.ledger import UpdateLedger
from image_updater.update.task import UpdateTask

PATCH_AGE_METRIC = "PatchAgeDays"
PRIVATE_IMAGES_METRIC = "PrivateImages"


def check(task: UpdateTask) -> UpdateTask:
    now = clock.utc_now()
    images = AppStreamImages()
    result = update.check(task, images, UpdateLedger(), now)
    if result.action == NO_UPDATE:
        count("NoUpdate")
    elif result.action == LATE_REPORT and not task.dry_run:
        count("LateReports")
    if result.source is not None:
        _patch_age(result.root_image_name, result.source, now)
    if images.private_images_listed is not None:
        # What AppStream's images quota counts, from the listing the lineage came from (no
        # extra call): the dashboard's quota headroom.
        count(PRIVATE_IMAGES_METRIC, images.private_images_listed, MetricUnit.NoUnit)
    return result


def _patch_age(root: str, source: ImageSummary, now: datetime) -> None:
    """PatchAgeDays of the lineage's newest AVAILABLE image (the one this run dry-ran): known
    on every run that checks for updates (a run that follows or reports an update skips it).
    The source is the root or an image the updater built from it (update.check.lineage_of)."""
    age = patch_age.patch_age_days(
        built_by_updater=source.name != root,
        created=patch_age.parsed(source.created_time),
        base_image_released=patch_age.parsed(source.base_image_released),
        now=now,
    )
    if age is not None:
        # CloudWatch has no days unit: the name carries it. Per lineage for the dashboard, and
        # without the lineage (its Maximum: the oldest) for the maxPatchAgeDays alarm, which
        # then watches one metric however many images are configured.
        per_lineage(PATCH_AGE_METRIC, root, age)
        count(PATCH_AGE_METRIC, age, MetricUnit.NoUnit)


handler = task_step(check)
