"""Starts the managed image update (or follows the one another run has just started)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from image_updater import clock, events
from image_updater.handlers import task_step
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.observability import count
from image_updater.update import create as update
from image_updater.update import events as update_events
from image_updater.update.ledger_creates import CreateLedger
from image_updater.update.settings import CreateSettings
from image_updater.update.task import UpdateTask

if TYPE_CHECKING:
    from image_updater.integrations.appstream.fleets import AppStreamFleets


def create(task: UpdateTask) -> UpdateTask:
    result = update.create(
        task,
        update.Creating(
            images=AppStreamImages(),
            ledger=CreateLedger(),
            users=_fleets,
            settings=CreateSettings.from_env(),
        ),
        clock.utc_now(),
    )
    if started_by_this_run(task, result):
        count("UpdatesStarted")
        events.publish(events.UPDATE_STARTED, update_events.update_started(result))
    return result


def _fleets() -> AppStreamFleets:
    # Only a quota refusal asks which images the fleets use: the fleets' code (and the roll-out's
    # records it reads) loads then, not at every cold start.
    from image_updater.integrations.appstream.fleets import AppStreamFleets

    return AppStreamFleets()


def started_by_this_run(task: UpdateTask, result: UpdateTask) -> bool:
    """AppStream builds the image this run named (new names derive from the run's start), not
    one another run started: following that one is not a start."""
    return result.new_image_name == task.new_image_name and result.image is not None


handler = task_step(create)
