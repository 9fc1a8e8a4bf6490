"""Create: start the update check chose, unless another run has meanwhile (then follow that
one), under the lineage's lock, with a free slot of `maxConcurrentUpdates`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

from image_updater.domain import naming
from image_updater.domain.lineage import Lineage
from image_updater.errors import (
    AppStreamBusy,
    AppStreamThrottled,
    ImageNameTaken,
    LineageBusy,
    UpdateNotPermitted,
    UpdateQuotaExceeded,
    UpdatesLockBusy,
    UpdateSlotsBusy,
)
from image_updater.integrations.appstream.client import ImageNotFound, NameAlreadyExists
from image_updater.models import FOLLOW, NO_UPDATE, SETTLED_STATES, ImageSummary
from image_updater.update.check import lineage_of, newest_available
from image_updater.update.ports import ImagesPort, LedgerPort
from image_updater.update.recorded_creates import RecordedCreate, unconfirmed
from image_updater.update.task import UpdateTask

if TYPE_CHECKING:
    # Types only: retention's code is loaded when a quota refusal is explained, so a create
    # AppStream accepts does not compile it at cold start.
    from image_updater.retention.service import ImageUsersPort, QuotaFactsPort


class CreateSettings(Protocol):
    """What create is held to (the create function's `update.settings.CreateSettings`)."""

    @property
    def extra_tags(self) -> Mapping[str, str]: ...
    @property
    def configured_images(self) -> Sequence[str]: ...
    @property
    def max_concurrent_updates(self) -> int: ...
    @property
    def keep_images(self) -> int: ...


if TYPE_CHECKING:

    class CreatePort(ImagesPort, QuotaFactsPort, Protocol):
        """What create needs: the images, and the facts a quota e-mail explains."""


class CreateLedgerPort(LedgerPort, Protocol):
    """The ledger's part only create uses: the updates lock and the creates on record."""

    def acquire_updates(self, owner: str, now: datetime) -> bool: ...
    def release_updates(self, owner: str) -> None: ...
    def record_create(self, create: RecordedCreate) -> None: ...
    def forget_create(self, name: str) -> None: ...
    def recorded_creates(self) -> list[RecordedCreate]: ...


class Creating(NamedTuple):
    """What one create works with: the images, the ledger, the fleets that use images (built
    only for a quota e-mail), and the settings."""

    images: CreatePort
    ledger: CreateLedgerPort
    users: Callable[[], ImageUsersPort]
    settings: CreateSettings


# What AppStream answers when it did not start the update: the record of it can go. A lost
# answer (network, 5xx, Lambda timeout) or an image not found leaves the outcome unknown.
_SURE_REFUSALS = (
    UpdateQuotaExceeded,
    AppStreamBusy,
    AppStreamThrottled,
    UpdateNotPermitted,
    ImageNameTaken,
)


def create(task: UpdateTask, using: Creating, now: datetime) -> UpdateTask:
    """Start the update, unless another run has meanwhile: then follow that one.

    Check's plan may be an hour old when a quota retry gets here, and another run may be
    at the same point: so the lineage is locked, looked at again (AppStream's listing and the
    ledger's record of creates sent, which the listing may not show yet), and only then
    updated. The record stands until the listing shows the image (or UNCONFIRMED_HOLD has
    passed), so releasing the lock after AppStream's answer opens no gap. A retry after a
    lost response finds its own image, or its own record.
    Returns the task with action FOLLOW (the image being built) or NO_UPDATE.
    """
    if task.source is None or task.new_image_name is None:
        raise ValueError("create needs the source and the new name chosen by check")
    root, owner, ledger = task.root_image_name, task.execution_id, using.ledger
    if not ledger.acquire_lineage(root, owner, now):
        raise LineageBusy(
            f"Another run is starting an update of the lineage of {root!r} right now; "
            "this run follows that update after a short wait."
        )
    try:
        return _create_locked(task, using, now)
    finally:
        ledger.release_lineage(root, owner)


def _create_locked(task: UpdateTask, using: Creating, now: datetime) -> UpdateTask:
    images, ledger = using.images, using.ledger
    root, new_name = task.root_image_name, task.new_image_name
    assert new_name is not None and task.source is not None
    lineage = lineage_of(root, images)
    building = lineage.update_in_progress() or _recorded_update(root, lineage, images, ledger, now)
    if building:
        ledger.expect_report(root, building.name, now)
        return task.evolve(action=FOLLOW, new_image_name=building.name, image=building)
    source = newest_available(lineage)
    if source.name != task.source.name and not images.can_update(source.name, new_name):
        # Another run's update finished since check looked: nothing left to do.
        return task.evolve(action=NO_UPDATE, source=source, outcome=NO_UPDATE)

    # One run's Map starts several lineages' creates at once: each is an owner of its own.
    owner = f"{task.execution_id}#{root}"
    if not ledger.acquire_updates(owner, now):
        raise UpdatesLockBusy(
            "Another run is counting the updates in progress and starting one right now; "
            "this run counts again after a short wait."
        )
    try:
        _require_a_free_slot(images, ledger, using.settings, new_name, now)
        record = RecordedCreate(new_name, root, source.name, task.execution_id, now)
        ledger.record_create(record)
        try:
            image = _start(task, source, using, now)
        except _SURE_REFUSALS:
            ledger.forget_create(new_name)
            raise
        ledger.record_create(record._replace(accepted=True))
    finally:
        ledger.release_updates(owner)
    ledger.expect_report(root, new_name, now)
    return task.evolve(action=FOLLOW, source=source, image=image)


def _recorded_update(
    root: str, lineage: Lineage, images: ImagesPort, ledger: CreateLedgerPort, now: datetime
) -> ImageSummary | None:
    """An update of the lineage the ledger recorded and the listing does not show: the image,
    once AppStream finds it by name; until then (for UNCONFIRMED_HOLD), LineageBusy."""
    members = [member.name for member in lineage.members]
    for record in unconfirmed(ledger.recorded_creates(), members, now):
        if record.root != root:
            continue
        try:
            return images.describe(record.name)
        except ImageNotFound:
            raise LineageBusy(
                f"Run {record.run} started an update of {root!r} ({record.name!r}, from "
                f"{record.source!r}) that AppStream does not list yet; this run follows it once "
                f"listed, or goes ahead if it is still absent at {record.holds_until():%H:%M} UTC."
            ) from None
    return None


def _require_a_free_slot(
    images: ImagesPort,
    ledger: CreateLedgerPort,
    settings: CreateSettings,
    new_name: str,
    now: datetime,
) -> None:
    """maxConcurrentUpdates, counted under the updates lock: the builds AppStream lists, and
    the creates on record it does not list yet."""
    listed = [n for n in images.updates_in_progress(settings.configured_images) if n != new_name]
    recorded = [
        record.name
        for record in unconfirmed(ledger.recorded_creates(), listed, now)
        if record.name != new_name
        and record.root in settings.configured_images
        and not _settled(images, record.name)
    ]
    running = listed + recorded
    if len(running) >= settings.max_concurrent_updates:
        raise UpdateSlotsBusy(
            f"{len(running)} updates are still building ({', '.join(running)}) "
            f"and maxConcurrentUpdates is {settings.max_concurrent_updates}."
        )


def _settled(images: ImagesPort, name: str) -> bool:
    """Whether a recorded create's image is listed and finished (not found: not yet listed)."""
    try:
        return images.describe(name).state in SETTLED_STATES
    except ImageNotFound:
        return False


def _start(task: UpdateTask, source: ImageSummary, using: Creating, now: datetime) -> ImageSummary:
    images, settings = using.images, using.settings
    root, new_name = task.root_image_name, task.new_image_name
    assert new_name is not None
    try:
        return images.start_update(
            source.name,
            new_name,
            description=naming.new_image_description(source.name, task.started_at_time),
            display_name=naming.new_image_display_name(root, task.started_at_time),
            tags=naming.new_image_tags(settings.extra_tags, root, source.name),
        )
    except UpdateQuotaExceeded as error:
        from image_updater.retention.service import explain_quota

        raise UpdateQuotaExceeded(
            explain_quota(str(error), root, images, settings.keep_images, now, users=using.users())
        ) from error
    except NameAlreadyExists as error:
        image = images.describe(new_name)
        owner = images.tags(image.arn).get(naming.LINEAGE_ROOT_TAG)
        if owner != task.root_image_name:
            raise ImageNameTaken(
                f"An image named {new_name!r} exists and was not created by the updater "
                f"for {root!r}."
            ) from error
        return image
