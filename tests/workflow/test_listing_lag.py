"""Runs that overlap while AppStream's listing lags behind an accepted create (AWS does not
document that it lists a new image at once): the synthesized workflow, end to end, with a
run by hand driven step by step (see test_across_runs.py). The ledger's record of creates,
not the listing, keeps one image per update and maxConcurrentUpdates across runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from image_updater.models import FOLLOW, UPDATE
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import WorkflowRunner
from tests.workflow.conftest import AddImage, Run, Timeline
from tests.workflow.steps import both_images_have_an_update, imga_has_an_update_imgb_none
from tests.workflow.test_across_runs import OtherRun, between_runs, lineage_of, run_with
from tests.workflow.test_workflow import started_updates

pytestmark = pytest.mark.workflow

LAG = timedelta(minutes=5)


def started_by_hand(
    runner: WorkflowRunner, sim: SimulatedAppStream, timeline: Timeline, root: str
) -> str:
    """A run started by hand a minute before the scheduled one checks `root` and starts its
    update; returns the new image's name."""
    by_hand = OtherRun(root, timeline.now() - timedelta(minutes=1))
    with between_runs(runner, sim, timeline):
        assert by_hand.check()["action"] == UPDATE
        assert by_hand.create()["action"] == FOLLOW
    return str(by_hand.task["newImageName"])


def test_a_run_a_minute_after_an_accepted_create_the_listing_does_not_show_builds_no_second_image(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given AppStream lists a new image only 5 minutes after accepting its create, and a run
    # by hand started ImgA's update a minute before the scheduled run
    imga_has_an_update_imgb_none(add_image)
    sim.lag_listing(LAG)
    theirs = started_by_hand(runner, sim, timeline, "ImgA")

    # When the scheduled run comes (its check sees no update under way: the listing lags)
    execution = run_with(runner, sim, timeline, None)

    # Then its create found the ledger's record, waited, and followed that image: one image
    busy = [i for i in execution.invoked("create") if i.error == "LineageBusy"]
    assert busy
    assert started_updates(sim.calls) == [theirs]
    assert lineage_of(sim, "ImgA") == [theirs]
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {theirs}"
    assert execution.status == "SUCCEEDED"


def test_an_update_the_listing_does_not_show_yet_counts_toward_max_concurrent_updates(
    short_runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given maxConcurrentUpdates=1, a listing that lags 5 minutes, and a run by hand that
    # started ImgB's 30-minute update a minute before the scheduled run
    both_images_have_an_update(add_image)
    sim.lag_listing(LAG)
    sim.script_update("ImgB", duration=timedelta(minutes=30))
    theirs = started_by_hand(short_runner, sim, timeline, "ImgB")

    # When the scheduled run would start ImgA's update
    execution = run_with(short_runner, sim, timeline, None)

    # Then it waited for the slot ImgB's update held (on record, then listed), and the two
    # updates never ran at the same time
    busy = [i for i in execution.invoked("create") if i.error == "UpdateSlotsBusy"]
    assert busy
    assert theirs in busy[0].result["errorMessage"]
    assert sim.max_concurrent_updates_seen == 1
    assert started_updates(sim.calls)[0] == theirs
    assert len(started_updates(sim.calls)) == 2


def test_a_listing_that_lags_longer_than_the_poll_interval_is_no_disappeared_image(
    short_runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given AppStream lists a new image only 12 minutes after accepting its create, and the
    # workflow first checks its status after 10 minutes (pollIntervalMinutes=10)
    imga_has_an_update_imgb_none(add_image)
    sim.lag_listing(timedelta(minutes=12))
    sim.script_update("ImgA", polls=3)

    # When the schedule starts a run
    execution = run(short_runner)

    # Then the first check, which AppStream answered "not found", waited again (the create is
    # on record), and the run built one image and e-mailed it ready
    polls = execution.invoked("poll")
    assert [p.error for p in polls] == [None] * len(polls)
    assert polls[0].result["outcome"] is None
    (created,) = lineage_of(sim, "ImgA")
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {created}"
    assert execution.status == "SUCCEEDED"
