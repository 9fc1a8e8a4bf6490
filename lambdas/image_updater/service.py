"""The three steps of one image's update: check, create, poll.

Each takes the task as the workflow carries it and returns the next version of it. They
never wait: waiting happens in the state machine's Wait state, where it costs nothing.

Runs overlap (a hand-started run during a scheduled one) and outlive their wait
(`maxUpdateHours`), so two promises rest on the ledger (see `ledger.py`) as well as on
AppStream: one update per lineage at a time (create takes the lineage's lock and looks at
the lineage again right before every real CreateUpdatedImage), and exactly one final
report per image the updater created (whichever run sees it settle claims it, and the
workflow marks it sent after SNS accepted the e-mail; see `reports.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from image_updater.domain import naming
from image_updater.domain.lineage import Lineage
from image_updater.domain.recorded_creates import RecordedCreate, unconfirmed
from image_updater.errors import (
    AppStreamBusy,
    AppStreamThrottled,
    ImageDisappeared,
    ImageNameTaken,
    LineageBusy,
    NoAvailableImage,
    SourceImageNotFound,
    UpdateNotPermitted,
    UpdateQuotaExceeded,
    UpdatesLockBusy,
    UpdateSlotsBusy,
)
from image_updater.integrations.appstream.client import ImageNotFound, NameAlreadyExists
from image_updater.models import (
    AVAILABLE,
    FAILED,
    FOLLOW,
    LATE_REPORT,
    NO_UPDATE,
    REPORTED_ELSEWHERE,
    SETTLED_STATES,
    SUCCEEDED,
    TIMED_OUT,
    UPDATE,
    ImageSummary,
    UpdateTask,
)
from image_updater.reports import ReportRecord, owed, unrecorded
from image_updater.retention.service import ImageUsersPort, QuotaFactsPort, explain_quota


class ImagesPort(Protocol):
    def describe(self, name: str) -> ImageSummary: ...
    def tags(self, arn: str) -> dict[str, str]: ...
    def lineage_members(self, root: str) -> list[ImageSummary]: ...
    def updates_in_progress(self, roots: Sequence[str]) -> list[str]: ...
    def can_update(self, source: str, new_name: str) -> bool: ...
    def start_update(
        self,
        source: str,
        new_name: str,
        *,
        description: str,
        display_name: str,
        tags: Mapping[str, str],
    ) -> ImageSummary: ...


class LedgerPort(Protocol):
    def acquire_lineage(self, root: str, owner: str, now: datetime) -> bool: ...
    def release_lineage(self, root: str, owner: str) -> None: ...
    def expect_report(self, root: str, image: str, now: datetime) -> None: ...
    def report_records(self, root: str) -> dict[str, ReportRecord]: ...
    def claim_report(self, root: str, image: str, claimer: str, now: datetime) -> bool: ...


_FINAL_OUTCOMES = {AVAILABLE: SUCCEEDED, FAILED: FAILED}


def _lineage(root: str, images: ImagesPort) -> Lineage:
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
    lineage = _lineage(root, images)
    task = task.evolve(root_missing=lineage.root is None)

    unreported = _unreported(task, lineage, images, ledger, now)
    if unreported and (
        task.dry_run or ledger.claim_report(root, unreported.name, task.execution_id, now)
    ):
        return task.evolve(
            action=LATE_REPORT,
            new_image_name=unreported.name,
            image=unreported,
            outcome=_FINAL_OUTCOMES[unreported.state],
        )

    building = lineage.update_in_progress()
    if building:
        if not task.dry_run:
            ledger.expect_report(root, building.name, now)
        return task.evolve(action=FOLLOW, new_image_name=building.name, image=building)

    source = _newest_available(lineage)
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


def _newest_available(lineage: Lineage) -> ImageSummary:
    source = lineage.newest_available()
    if source is None:
        root = lineage.root
        raise NoAvailableImage(
            "No image of the lineage is AVAILABLE "
            + (f"(the root {root.name!r} is {root.state})." if root else "(the root is gone).")
        )
    return source


class CreateSettings(Protocol):
    """What create is held to (the create function's settings.CreateSettings)."""

    @property
    def extra_tags(self) -> Mapping[str, str]: ...
    @property
    def configured_images(self) -> Sequence[str]: ...
    @property
    def max_concurrent_updates(self) -> int: ...
    @property
    def keep_images(self) -> int: ...


class CreatePort(ImagesPort, QuotaFactsPort, Protocol):
    """What create needs: the images, and the facts a quota e-mail explains."""


class CreateLedgerPort(LedgerPort, Protocol):
    """The ledger's part only create uses: the updates lock and the creates on record."""

    def acquire_updates(self, owner: str, now: datetime) -> bool: ...
    def release_updates(self, owner: str) -> None: ...
    def record_create(self, create: RecordedCreate) -> None: ...
    def forget_create(self, name: str) -> None: ...
    def recorded_creates(self) -> list[RecordedCreate]: ...


# What AppStream answers when it did not start the update: the record of it can go. A lost
# answer (network, 5xx, Lambda timeout) or an image not found leaves the outcome unknown.
_SURE_REFUSALS = (
    UpdateQuotaExceeded,
    AppStreamBusy,
    AppStreamThrottled,
    UpdateNotPermitted,
    ImageNameTaken,
)


def create(
    task: UpdateTask,
    images: CreatePort,
    ledger: CreateLedgerPort,
    settings: CreateSettings,
    now: datetime,
    *,
    users: ImageUsersPort,
) -> UpdateTask:
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
    root, owner = task.root_image_name, task.execution_id
    if not ledger.acquire_lineage(root, owner, now):
        raise LineageBusy(
            f"Another run is starting an update of the lineage of {root!r} right now; "
            "this run follows that update after a short wait."
        )
    try:
        return _create_locked(task, images, ledger, settings, now, users=users)
    finally:
        ledger.release_lineage(root, owner)


def _create_locked(
    task: UpdateTask,
    images: CreatePort,
    ledger: CreateLedgerPort,
    settings: CreateSettings,
    now: datetime,
    *,
    users: ImageUsersPort,
) -> UpdateTask:
    root, new_name = task.root_image_name, task.new_image_name
    assert new_name is not None and task.source is not None
    lineage = _lineage(root, images)
    building = lineage.update_in_progress() or _recorded_update(root, lineage, images, ledger, now)
    if building:
        ledger.expect_report(root, building.name, now)
        return task.evolve(action=FOLLOW, new_image_name=building.name, image=building)
    source = _newest_available(lineage)
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
        _require_a_free_slot(images, ledger, settings, new_name, now)
        record = RecordedCreate(new_name, root, source.name, task.execution_id, now)
        ledger.record_create(record)
        try:
            image = _start(task, source, images, settings, now, users=users)
        except _SURE_REFUSALS:
            ledger.forget_create(new_name)
            raise
        ledger.record_create(replace(record, accepted=True))
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


def _start(
    task: UpdateTask,
    source: ImageSummary,
    images: CreatePort,
    settings: CreateSettings,
    now: datetime,
    *,
    users: ImageUsersPort,
) -> ImageSummary:
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
        raise UpdateQuotaExceeded(
            explain_quota(str(error), root, images, settings.keep_images, now, users=users)
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


class PollLedgerPort(LedgerPort, Protocol):
    def recorded_create(self, name: str) -> RecordedCreate | None: ...


def poll(
    task: UpdateTask, images: ImagesPort, ledger: PollLedgerPort, max_polls: int, now: datetime
) -> UpdateTask:
    """One status check; sets the outcome once the image settles or time is up. Of all the
    runs that may be following this image, only the first to see it settle reports it.
    An image AppStream does not find is still being built while the ledger's record of its
    create holds (the listing may lag behind the create); after that, it was deleted."""
    if task.new_image_name is None:
        raise ValueError("poll needs the name of the image being built")
    polls = task.polls + 1
    try:
        image = images.describe(task.new_image_name)
    except ImageNotFound as error:
        record = ledger.recorded_create(task.new_image_name)
        if record is None or not record.holds(now):
            raise ImageDisappeared(
                f"The image {task.new_image_name!r} was deleted before its update finished."
            ) from error
        return task.evolve(polls=polls, outcome=TIMED_OUT if polls >= max_polls else None)
    outcome = _FINAL_OUTCOMES.get(image.state)
    if outcome and not ledger.claim_report(
        task.root_image_name, image.name, task.execution_id, now
    ):
        outcome = REPORTED_ELSEWHERE
    elif outcome is None and polls >= max_polls:
        outcome = TIMED_OUT
    return task.evolve(image=image, polls=polls, outcome=outcome)
