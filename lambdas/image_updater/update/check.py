"""Check: what one image's update does this run. Report an update an earlier run left
unreported, follow one under way, or dry-run the newest image of the lineage.

Like create and poll, it takes the task as the workflow carries it and returns the next
version of it, and never waits: waiting happens in the state machine's Wait state, where it
costs nothing.

Runs overlap (a hand-started run during a scheduled one) and outlive their wait
(`maxUpdateHours`), so two promises rest on the ledger (see `ledger.py`) as well as on
AppStream: one update per lineage at a time (create takes the lineage's lock and looks at
the lineage again right before every real CreateUpdatedImage), and exactly one final
report per image the updater created (whichever run sees it settle claims it, and the
workflow marks it sent after SNS accepted the e-mail; see `reports.py`).
"""

from __future__ import annotations

from datetime import datetime

from image_updater.domain import naming
from image_updater.domain.lineage import Lineage
from image_updater.errors import NoAvailableImage, SourceImageNotFound
from image_updater.integrations.appstream.client import ImageNotFound
from image_updater.models import (
    FINAL_OUTCOMES,
    FOLLOW,
    LATE_REPORT,
    NO_UPDATE,
    UPDATE,
    ImageSummary,
)
from image_updater.update.ports import ImagesPort, LedgerPort
from image_updater.update.reports import owed, unrecorded
from image_updater.update.task import UpdateTask


def lineage_of(root: str, images: ImagesPort) -> Lineage:
    """The root and the images the updater built from it. A root someone deleted (the
    natural one to delete when the images quota is full) does not end its lineage: the
    updater carries on from the newest image it built, and fails only when none is left."""
    try:
        root_image: ImageSummary | None = images.describe(root)
    except ImageNotFound as error:
        root_image = None
        missing = error
    members = tuple(images.lineage_members(root))
    if root_image is None and not members:
        raise SourceImageNotFound(
            f"The configured image {root!r} does not exist in this account and Region, and "
            f"no image the updater built from it is left ({missing})."
        )
    return Lineage(root=root_image, members=members)


def check(task: UpdateTask, images: ImagesPort, ledger: LedgerPort, now: datetime) -> UpdateTask:
    """Report an update an earlier run left unreported, follow one under way, or dry-run the
    newest image. A dry run looks but writes nothing, not even to the ledger."""
    root = task.root_image_name
    lineage = lineage_of(root, images)
    task = task.evolve(root_missing=lineage.root is None)

    unreported = _unreported(task, lineage, images, ledger, now)
    if unreported and (
        task.dry_run or ledger.claim_report(root, unreported.name, task.execution_id, now)
    ):
        return task.evolve(
            action=LATE_REPORT,
            new_image_name=unreported.name,
            image=unreported,
            outcome=FINAL_OUTCOMES[unreported.state],
        )

    building = lineage.update_in_progress()
    if building:
        if not task.dry_run:
            ledger.expect_report(root, building.name, now)
        return task.evolve(action=FOLLOW, new_image_name=building.name, image=building)

    source = newest_available(lineage)
    new_name = naming.derived_image_name(root, task.started_at_time)
    if images.can_update(source.name, new_name):
        return task.evolve(action=UPDATE, source=source, new_image_name=new_name)
    return task.evolve(action=NO_UPDATE, source=source, outcome=NO_UPDATE)


def _unreported(
    task: UpdateTask, lineage: Lineage, images: ImagesPort, ledger: LedgerPort, now: datetime
) -> ImageSummary | None:
    """The settled image whose report is owed (or whose claim was abandoned); else the
    lineage's newest image if the ledger never heard of it (its create's write was lost)."""
    records = ledger.report_records(task.root_image_name)
    return lineage.newest_settled_of(owed(records, now)) or unrecorded(
        task.root_image_name, lineage, records, now, images.tags
    )


def newest_available(lineage: Lineage) -> ImageSummary:
    source = lineage.newest_available()
    if source is None:
        root = lineage.root
        raise NoAvailableImage(
            "No image of the lineage is AVAILABLE "
            + (f"(the root {root.name!r} is {root.state})." if root else "(the root is gone).")
        )
    return source
