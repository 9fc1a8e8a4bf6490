"""Poll: one status check of the image being built (one DescribeImages call); the workflow's
Wait state loops it until the image settles or `maxUpdateHours` is up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from image_updater.errors import ImageDisappeared
from image_updater.integrations.appstream.client import ImageNotFound
from image_updater.models import FINAL_OUTCOMES, REPORTED_ELSEWHERE, TIMED_OUT
from image_updater.update.task import UpdateTask

if TYPE_CHECKING:  # the ports are only annotations: a status check does not compile them
    from image_updater.update.ports import ImagesPort, LedgerPort
    from image_updater.update.recorded_creates import RecordedCreate

    class PollLedgerPort(LedgerPort, Protocol):
        def recorded_create(self, name: str) -> RecordedCreate | None: ...


def poll(
    task: UpdateTask,
    images: ImagesPort,
    ledger: Callable[[], PollLedgerPort],
    max_polls: int,
    now: datetime,
) -> UpdateTask:
    """One status check; sets the outcome once the image settles or time is up. Of all the
    runs that may be following this image, only the first to see it settle reports it.
    An image AppStream does not find is still being built while the ledger's record of its
    create holds (the listing may lag behind the create); after that, it was deleted. The
    ledger is built only for those two cases, an image settled or not found (most status
    checks find the image still building)."""
    if task.new_image_name is None:
        raise ValueError("poll needs the name of the image being built")
    polls = task.polls + 1
    try:
        image = images.describe(task.new_image_name)
    except ImageNotFound as error:
        record = ledger().recorded_create(task.new_image_name)
        if record is None or not record.holds(now):
            raise ImageDisappeared(
                f"The image {task.new_image_name!r} was deleted before its update finished."
            ) from error
        return task.evolve(polls=polls, outcome=TIMED_OUT if polls >= max_polls else None)
    outcome = FINAL_OUTCOMES.get(image.state)
    if outcome and not ledger().claim_report(
        task.root_image_name, image.name, task.execution_id, now
    ):
        outcome = REPORTED_ELSEWHERE
    elif outcome is None and polls >= max_polls:
        outcome = TIMED_OUT
    return task.evolve(image=image, polls=polls, outcome=outcome)
