"""The three steps of one image's update: check, create, poll.

Each takes the task as the workflow carries it and returns the next version of it. They
never wait: waiting happens in the state machine's Wait state, where it costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from image_updater.appstream import ImageNotFound, NameAlreadyExists
from image_updater.domain import naming
from image_updater.domain.lineage import Lineage
from image_updater.errors import (
    ImageDisappeared,
    ImageNameTaken,
    NoAvailableImage,
    SourceImageNotFound,
    UpdateSlotsBusy,
)
from image_updater.models import (
    AVAILABLE,
    FAILED,
    FOLLOW,
    NO_UPDATE,
    SUCCEEDED,
    TIMED_OUT,
    UPDATE,
    ImageSummary,
    UpdateTask,
)


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


def check(task: UpdateTask, images: ImagesPort) -> UpdateTask:
    """Follow an update of the lineage already under way, or dry-run the newest image."""
    root = task.root_image_name
    try:
        root_image = images.describe(root)
    except ImageNotFound as error:
        raise SourceImageNotFound(
            f"The configured image {root!r} does not exist in this account and Region ({error})."
        ) from error
    lineage = Lineage(root=root_image, members=tuple(images.lineage_members(root)))

    building = lineage.update_in_progress()
    if building:
        return task.evolve(action=FOLLOW, new_image_name=building.name, image=building)

    source = lineage.newest_available()
    if source is None:
        raise NoAvailableImage(
            f"No image of the lineage of {root!r} is AVAILABLE (the root is {root_image.state})."
        )
    new_name = naming.derived_image_name(root, task.started_at_time)
    if images.can_update(source.name, new_name):
        return task.evolve(action=UPDATE, source=source, new_image_name=new_name)
    return task.evolve(action=NO_UPDATE, source=source, outcome=NO_UPDATE)


@dataclass(frozen=True)
class CreateSettings:
    extra_tags: Mapping[str, str]
    configured_images: Sequence[str]
    max_concurrent_updates: int


def create(task: UpdateTask, images: ImagesPort, settings: CreateSettings) -> UpdateTask:
    """Start the update. A retry after a lost response finds its own image already there.

    The Map bounds how many images a run works on at once, but an update the run stopped
    waiting for keeps building in AppStream; counting what is really building keeps
    `maxConcurrentUpdates` true across runs.
    """
    if task.source is None or task.new_image_name is None:
        raise ValueError("create needs the source and the new name chosen by check")
    source, new_name = task.source.name, task.new_image_name
    building = [
        name for name in images.updates_in_progress(settings.configured_images) if name != new_name
    ]
    if len(building) >= settings.max_concurrent_updates:
        raise UpdateSlotsBusy(
            f"{len(building)} updates are still building ({', '.join(building)}) and "
            f"maxConcurrentUpdates is {settings.max_concurrent_updates}."
        )
    try:
        image = images.start_update(
            source,
            new_name,
            description=naming.new_image_description(source, task.started_at_time),
            display_name=naming.new_image_display_name(task.root_image_name, task.started_at_time),
            tags=naming.new_image_tags(settings.extra_tags, task.root_image_name, source),
        )
    except NameAlreadyExists as error:
        image = images.describe(new_name)
        owner = images.tags(image.arn).get(naming.LINEAGE_ROOT_TAG)
        if owner != task.root_image_name:
            raise ImageNameTaken(
                f"An image named {new_name!r} exists and was not created by the updater "
                f"for {task.root_image_name!r}."
            ) from error
    return task.evolve(image=image)


def poll(task: UpdateTask, images: ImagesPort, max_polls: int) -> UpdateTask:
    """One status check; sets the outcome once the image settles or time is up."""
    if task.new_image_name is None:
        raise ValueError("poll needs the name of the image being built")
    try:
        image = images.describe(task.new_image_name)
    except ImageNotFound as error:
        raise ImageDisappeared(
            f"The image {task.new_image_name!r} was deleted before its update finished."
        ) from error
    polls = task.polls + 1
    outcome = None
    if image.state == AVAILABLE:
        outcome = SUCCEEDED
    elif image.state == FAILED:
        outcome = FAILED
    elif polls >= max_polls:
        outcome = TIMED_OUT
    return task.evolve(image=image, polls=polls, outcome=outcome)
