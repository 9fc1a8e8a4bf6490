"""Runs that overlap, and updates that outlive the run that started them: the synthesized
workflow, end to end, with a second run of the same deployment driven step by step (the
real handlers, in the same simulated account) while the run under test waits.

The two promises judged here: exactly one image per update, and exactly one final e-mail
for every image the updater created, whichever run sees it settle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest

from image_updater import clock as product_clock
from image_updater.domain import naming
from image_updater.models import FOLLOW, REPORTED_ELSEWHERE, UPDATE
from image_updater.update import create
from image_updater.update.ledger import UpdateLedger
from infra.config import history, load_config
from rehearsal.appstream import NETWORK_FAILURE, SimulatedAppStream
from rehearsal.runner import Execution, Invocation, StepByStepRun, WorkflowRunner
from tests.workflow.conftest import BASE_CONTEXT, BASE_IMAGES, AddImage, Run, Timeline
from tests.workflow.steps import imga_has_an_update_imgb_none
from tests.workflow.test_workflow import image_results, new_images, real_creates, started_updates

pytestmark = pytest.mark.workflow


class OtherRun(StepByStepRun):
    def check(self) -> dict[str, Any]:
        return self.step("check")

    def create(self) -> dict[str, Any]:
        return self.step("create")

    def poll(self) -> dict[str, Any]:
        return self.step("poll")


@contextmanager
def between_runs(
    runner: WorkflowRunner, sim: SimulatedAppStream, timeline: Timeline
) -> Iterator[None]:
    """The deployment at rest, for steps of another run outside any execution."""
    with (
        runner.deployed(sim, timeline.clock),
        mock.patch.object(product_clock, "utc_now", timeline.now),
    ):
        yield


def run_with(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    timeline: Timeline,
    on_invocation: Any,
    execution_input: Any = None,
) -> Execution:
    execution = runner.run(sim, timeline.clock, execution_input, on_invocation=on_invocation)
    assert sim.violations == []
    assert execution.oversized_states == []
    return execution


def lineage_of(sim: SimulatedAppStream, root: str) -> list[str]:
    return [name for name in sim.images if naming.is_derived_name(root, name)]


# --- 1. two runs, one lineage: exactly one image -----------------------------------------------


def test_a_quota_retry_follows_the_update_another_run_started_meanwhile(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given ImgA's first real create is refused for quota, and while the scheduled run waits
    # to retry, a run started by hand checks ImgA and starts its update
    imga_has_an_update_imgb_none(add_image)
    sim.fail("CreateUpdatedImage", "LimitExceededException", when=lambda p: not p["dryRun"])
    by_hand: list[OtherRun] = []

    def meanwhile(invocation: Invocation, _: timedelta) -> None:
        if invocation.error == "UpdateQuotaExceeded" and not by_hand:
            other = OtherRun.minutes_after(invocation, 5)
            assert other.check()["action"] == UPDATE
            assert other.create()["action"] == FOLLOW
            by_hand.append(other)

    # When the scheduled run retries after its quota wait
    execution = run_with(runner, sim, timeline, meanwhile)

    # Then it followed the update the other run started instead of building a second image
    (other,) = by_hand
    theirs = other.task["newImageName"]
    assert started_updates(sim.calls) == [theirs]
    assert lineage_of(sim, "ImgA") == [theirs]
    # and one "ready" e-mail names that image
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {theirs}"
    assert execution.status == "SUCCEEDED"

    # and when the other run sees the image settle too, it sends nothing more
    with between_runs(runner, sim, timeline):
        assert other.poll()["outcome"] == REPORTED_ELSEWHERE


def test_interleaved_check_check_create_create_builds_one_image(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given a run by hand interleaves with the scheduled one: check A, check B, create A,
    # create B (both checks see the same source with updates available)
    imga_has_an_update_imgb_none(add_image)
    steps: list[str] = []
    other: list[OtherRun] = []

    def interleave(invocation: Invocation, _: timedelta) -> None:
        if invocation.event.get("rootImageName") != "ImgA":
            return
        if invocation.step == "check" and not other:
            other.append(OtherRun.minutes_after(invocation, 1))
            steps.append(f"check B: {other[0].check()['action']}")
        elif invocation.step == "create" and len(steps) == 1:
            steps.append(f"create B: {other[0].create()['action']}")

    # When
    execution = run_with(runner, sim, timeline, interleave)

    # Then B decided to update, but its create looked again and followed A's image
    assert steps == [f"check B: {UPDATE}", f"create B: {FOLLOW}"]
    (ours,) = started_updates(sim.calls)
    assert other[0].task["newImageName"] == ours
    assert len(real_creates(sim.calls)) == 1
    assert lineage_of(sim, "ImgA") == [ours]
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {ours}"


def test_a_lock_left_by_a_crashed_run_expires_and_the_update_goes_ahead(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given another run took ImgA's lock right before the scheduled run's create, and then
    # crashed without releasing it
    imga_has_an_update_imgb_none(add_image)

    def crash_holding_the_lock(invocation: Invocation, _: timedelta) -> None:
        if invocation.step == "check" and invocation.event.get("rootImageName") == "ImgA":
            assert UpdateLedger().acquire_lineage("ImgA", "crashed-run", timeline.now())

    # When
    execution = run_with(runner, sim, timeline, crash_holding_the_lock)

    # Then the create waited (LineageBusy, retried) until the lock expired, then started
    busy = [i for i in execution.invoked("create") if i.error == "LineageBusy"]
    assert busy
    (created,) = started_updates(sim.calls)
    assert execution.status == "SUCCEEDED"
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {created}"


# --- 2. an update that outlives its run: one final report, from whichever run sees it ----------


@pytest.mark.parametrize("ending", ["AVAILABLE", "FAILED"])
def test_an_update_that_outlives_its_run_is_reported_once_by_a_later_run(
    short_runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
    ending: str,
) -> None:
    # Given maxUpdateHours=1 and an update of ImgA that takes three hours and then ends
    imga_has_an_update_imgb_none(add_image)
    sim.script_update(
        "ImgA",
        duration=timedelta(hours=3),
        outcome=ending,  # type: ignore[arg-type]
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message="Windows Update returned 0x80070643.",
    )
    first = run(short_runner)
    (created,) = new_images(sim, BASE_IMAGES)
    (still_running,) = first.emails
    assert still_running.subject == "AppStream image update still running: ImgA"

    # When the next scheduled run finds the image settled
    timeline.next_run()
    second = run(short_runner)

    # Then it e-mails that image's final outcome, once, and starts nothing new this run
    (email,) = second.emails
    if ending == "AVAILABLE":
        assert email.subject == f"AppStream image ready: {created}"
        assert second.status == "SUCCEEDED"
    else:
        assert email.subject == "AppStream image update FAILED: ImgA"
        assert "IMAGE_UPDATE_FAILURE: Windows Update returned 0x80070643." in email.body
        assert second.status == "FAILED"
    assert created in email.body
    assert "started by an earlier run" in email.body
    assert real_creates(second.appstream_calls()) == real_creates(first.appstream_calls())

    # and the run after that never reports it again
    timeline.next_run()
    third = run(short_runner)
    # (it may be named as an older image retention deleted, never as the news)
    assert [
        e for e in third.emails if created in e.subject or f"New image:        {created}" in e.body
    ] == []


def test_a_lost_status_check_is_worded_as_such_and_the_outcome_comes_later(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given every status check of ImgA's new image is throttled during the first run
    imga_has_an_update_imgb_none(add_image)
    sim.script_update("ImgA", duration=timedelta(hours=2))
    throttled = {"on": True}
    sim.fail(
        "DescribeImages",
        "ThrottlingException",
        calls=None,
        when=lambda p: throttled["on"] and str(p.get("Names", [""])[0]).startswith("ImgA-"),
    )
    first = run(runner)

    # Then the first run says it could not check, not that the update failed
    (created,) = new_images(sim, BASE_IMAGES)
    (lost,) = first.emails
    assert lost.subject == "AppStream image updater could not check: ImgA"
    assert "FAILED" not in lost.subject
    assert "update itself may well be fine" in lost.body
    assert created in lost.body
    assert lost.attributes["outcome"] == "CHECK_FAILED"

    # When AppStream answers again by the next run, and the build has finished
    throttled["on"] = False
    timeline.next_run()
    second = run(runner)

    # Then that run reports the image's real outcome
    (email,) = second.emails
    assert email.subject == f"AppStream image ready: {created}"


# --- 3. the create step runs out of time after AppStream accepted ---------------------------


TimedOut = type("Sandbox.Timedout", (Exception,), {})


def test_a_create_that_times_out_after_appstream_accepted_is_followed_not_repeated(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given the create step's Lambda times out right after AppStream accepted the update
    imga_has_an_update_imgb_none(add_image)
    real = create._create_locked
    attempts: list[str | None] = []

    def accepted_then_timed_out(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        attempts.append(result.action)
        if len(attempts) == 1:
            raise TimedOut("Task timed out after 30.00 seconds")
        return result

    # When
    with mock.patch.object(create, "_create_locked", accepted_then_timed_out):
        execution = run(runner)

    # Then the retry looked again, followed the image, and only one was built and announced
    assert attempts == [FOLLOW, FOLLOW]
    (created,) = started_updates(sim.calls)
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {created}"


def test_a_create_that_keeps_timing_out_names_the_image_and_the_next_run_reports_it(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given every attempt of the create step times out, the first one after AppStream
    # accepted the update
    imga_has_an_update_imgb_none(add_image)
    real = create._create_locked

    def always_timed_out(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise TimedOut("Task timed out after 30.00 seconds")

    with mock.patch.object(create, "_create_locked", always_timed_out):
        first = run(runner)

    # Then the e-mail names the image now building and says the next run follows it
    (created,) = started_updates(sim.calls)
    (email,) = first.emails
    assert email.subject == "AppStream image update not confirmed: ImgA"
    assert created in email.body
    assert "the next run follows it" in email.body
    assert "States.Timeout" not in email.body

    # When the next run comes
    timeline.next_run()
    second = run(runner)

    # Then it reports the image, and never built another
    (ready,) = second.emails
    assert ready.subject == f"AppStream image ready: {created}"
    assert started_updates(sim.calls) == [created]


# --- 4. any input, any AppStream text: still an e-mail ------------------------------------------


@pytest.mark.parametrize(
    "execution_input",
    [
        {"images": ["N" * 100_000]},
        {"images": [f"Unknown-{i:04d}-" + "x" * 180 for i in range(1000)]},
        {"images": ["ImgA"], "notes": "y" * 250_000},
        "z" * 250_000,
    ],
    ids=["100k-name", "1000-long-names", "250k-field", "250k-string"],
)
def test_a_huge_input_is_refused_with_an_e_mail(
    runner: WorkflowRunner, sim: SimulatedAppStream, run: Run, execution_input: Any
) -> None:
    # Given / When a hand-started run with an input near Step Functions' 256 KiB limit
    execution = run(runner, execution_input)

    # Then no state grew past the limit (the fixture checks), and the refusal was e-mailed
    assert execution.status == "FAILED"
    (email,) = execution.emails
    assert email.subject == "AppStream image updater: run refused (invalid input)"
    assert len(email.body) < 5000
    assert sim.calls == []


def test_huge_image_errors_still_end_in_an_e_mail(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA's update fails with about 130 KB of image errors
    imga_has_an_update_imgb_none(add_image)
    errors = [(f"ERROR_{i:03d}", f"Step {i} failed: " + "w" * 1300) for i in range(100)]
    sim.script_update("ImgA", polls=1, outcome="FAILED", errors=errors)

    # When
    execution = run(runner)

    # Then the failure e-mail went out, quoting a readable part of it
    (email,) = execution.emails
    assert email.subject == "AppStream image update FAILED: ImgA"
    assert "ERROR_000: Step 0 failed" in email.body
    assert "... and 90 more" in email.body
    assert len(email.body) < 20_000


# --- 5. a dry run e-mails nobody ------------------------------------------------------------------


def test_a_dry_run_with_a_missing_and_a_throttled_image_sends_no_e_mail(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA exists and has updates but AppStream keeps throttling its dry run, and ImgB
    # does not exist
    add_image("ImgA", updates_available=True)
    sim.fail("CreateUpdatedImage", "ThrottlingException", calls=None)

    # When a dry run is started by hand
    execution = run(runner, {"images": list(BASE_IMAGES), "dryRun": True})

    # Then nobody is e-mailed, nothing is built, and the results say what went wrong
    assert execution.emails == []
    assert real_creates(sim.calls) == []
    assert execution.status == "SUCCEEDED"
    results = {r["image"]: r for r in image_results(execution)}
    assert results["ImgA"]["outcome"] == "DRY_RUN"
    assert results["ImgA"]["error"]["Error"] == "AppStreamThrottled"
    assert results["ImgB"]["error"]["Error"] == "SourceImageNotFound"
    assert not any(r["failed"] for r in results.values())


# --- 6. a lineage keeps its members when tags are lost ------------------------------------------


def test_removing_the_lineage_tag_from_the_newest_image_does_not_cause_a_rebuild(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given a first run built ImgA's update, and then an admin removed its updater tags
    imga_has_an_update_imgb_none(add_image)
    run(runner)
    (created,) = new_images(sim, BASE_IMAGES)
    sim.remove_tags(created, naming.LINEAGE_ROOT_TAG, naming.SOURCE_IMAGE_TAG)

    # When the next scheduled run comes (ImgA itself still has updates available)
    timeline.next_run()
    second = run(runner)

    # Then it recognised the image by its name and description, dry-ran it, and built nothing
    assert real_creates(second.appstream_calls()) == real_creates(sim.calls)
    assert len(real_creates(sim.calls)) == 1
    dry_runs = [
        c.params["existingImageName"]
        for c in second.appstream_calls("CreateUpdatedImage")
        if c.params["dryRun"]
    ]
    assert created in dry_runs
    assert second.emails == []


# --- 7. the network fails for a while --------------------------------------------------------


def test_network_errors_that_outlast_the_sdk_are_retried_by_the_workflow(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given the AppStream endpoint cannot be reached for the first three requests
    imga_has_an_update_imgb_none(add_image)
    sim.fail("DescribeImages", NETWORK_FAILURE, calls=3)

    # When
    execution = run(runner)

    # Then the steps were retried and the run ended as if nothing had happened
    assert [c.error for c in sim.calls[:3]] == [NETWORK_FAILURE] * 3
    assert execution.status == "SUCCEEDED"
    (email,) = execution.emails
    assert email.subject.startswith("AppStream image ready: ImgA-")


# --- 8. the execution history quota ---------------------------------------------------------


def test_history_grows_by_the_events_the_synth_check_counts_per_status_check(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given an update settled on its 2nd status check, and then one on its 5th
    imga_has_an_update_imgb_none(add_image)
    sim.script_update("ImgA", polls=2)
    short = run(runner)
    (first_image,) = new_images(sim, BASE_IMAGES)
    sim.set_updates_available(first_image, True)
    sim.script_update(first_image, polls=5)
    timeline.next_run()
    long = run(runner)

    # Then each extra status check added exactly the events the synth-time check assumes,
    # and both runs stayed within its estimate
    loaded = load_config(BASE_CONTEXT)
    assert (len(long.history) - len(short.history)) / 3 == history.EVENTS_PER_STATUS_CHECK
    per_image = (
        history.EVENTS_PER_IMAGE + history.EVENTS_PER_ROLLOUT + history.EVENTS_PER_STATUS_CHECK * 5
    )
    assert len(long.history) <= history.EVENTS_PER_RUN + len(loaded.image_names) * per_image
