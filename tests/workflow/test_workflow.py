"""The synthesized state machine, run end to end: moto's Step Functions interpreter, the real
Lambda handlers in-process, and the simulated AppStream. Each test is one situation an admin
meets, judged by what they would see: the e-mails, the images in their account, the run's
status, and the AppStream calls made on their behalf."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import boto3
import pytest

from image_updater.domain import naming
from infra.workflow import states
from rehearsal.appstream import Call, SimulatedAppStream
from rehearsal.runner import REGION, Execution, WorkflowRunner
from tests.workflow.conftest import (
    BASE_IMAGES,
    BASE_POLL_MINUTES,
    LONG_ROOT,
    TEN_IMAGES,
    AddImage,
    Run,
    Timeline,
)
from tests.workflow.steps import both_images_have_an_update, imga_has_an_update_imgb_none

pytestmark = pytest.mark.workflow

APPSTREAM_NAME = naming.IMAGE_NAME_PATTERN
QUOTA_RETRY_SECONDS = 600  # the workflow's first wait after LimitExceededException


# --- reading an execution -------------------------------------------------------------------


def image_results(execution: Execution) -> list[dict[str, Any]]:
    """The Map's per-image results, whether the execution succeeded or failed."""
    if isinstance(execution.output, dict) and "results" in execution.output:
        return list(execution.output["results"])
    for event in reversed(execution.history):
        details = event.get("mapStateExitedEventDetails") or event.get("stateExitedEventDetails")
        if details and details.get("name") == states.UPDATE_EACH_IMAGE:
            return list(json.loads(details["output"])["results"])
    raise AssertionError("the execution never left the Map state")


def real_creates(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.operation == "CreateUpdatedImage" and not c.params.get("dryRun")]


def started_updates(calls: list[Call]) -> list[str]:
    """Names of the images AppStream accepted to build."""
    return [c.params["newImageName"] for c in real_creates(calls) if c.error is None]


def new_images(sim: SimulatedAppStream, roots: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {name: image for name, image in sim.images.items() if name not in roots}


def email_for(execution: Execution, image: str) -> Any:
    (email,) = [e for e in execution.emails if e.attributes.get("image") == image]
    return email


def lineage_tags(root: str, source: str) -> dict[str, str]:
    return {naming.LINEAGE_ROOT_TAG: root, naming.SOURCE_IMAGE_TAG: source}


# --- 1. an update is available ---------------------------------------------------------------


def test_available_update_is_built_and_announced(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA has updates (built in three status checks) and ImgB has none
    imga_has_an_update_imgb_none(add_image)
    sim.script_update("ImgA", polls=3)

    # When the schedule starts a run
    execution = run(runner)

    # Then it ran on the schedule's input and succeeded
    assert execution.input == {
        "images": list(BASE_IMAGES),
        "dryRun": False,
        "startedBy": "schedule",
    }
    assert execution.status == "SUCCEEDED"
    # and exactly one image was built, from ImgA, named and tagged as the lineage's own
    (created,) = new_images(sim, BASE_IMAGES)
    assert naming.is_derived_name("ImgA", created)
    assert sim.images[created]["State"] == "AVAILABLE"
    assert sim.tags(created) == {"CostCenter": "EUC", **lineage_tags("ImgA", "ImgA")}
    # and the one e-mail names the new image in its subject and body
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {created}"
    assert re.search(rf"New image:\s+{re.escape(created)}\n", email.body)
    assert "arn:aws:appstream:us-east-1:123456789012:image/" + created in email.body
    assert email.attributes == {"outcome": "SUCCEEDED", "image": "ImgA"}
    # and the run waited the configured interval before each of the three status checks
    assert len(execution.invoked("poll")) == 3
    assert execution.waits == [BASE_POLL_MINUTES * 60] * 3
    assert {"image": "ImgA", "outcome": "SUCCEEDED", "failed": False, "newImageName": created} in (
        execution.output["results"]
    )


# --- 2. no update ------------------------------------------------------------------------


def test_no_update_creates_nothing_and_stays_quiet_by_default(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given neither image has updates, and notifyNoUpdate is left at false
    add_image("ImgA", updates_available=False)
    add_image("ImgB", updates_available=False)

    # When the schedule starts a run
    execution = run(runner)

    # Then nothing is created and nobody is e-mailed
    assert execution.status == "SUCCEEDED"
    assert real_creates(sim.calls) == []
    assert new_images(sim, BASE_IMAGES) == {}
    assert execution.emails == []
    assert execution.states.count("Already up to date") == 2
    assert execution.invoked("report") == []
    assert sorted(r["outcome"] for r in execution.output["results"]) == ["NO_UPDATE"] * 2


def test_no_update_is_e_mailed_when_notify_no_update_is_on(
    notify_runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA has no updates, and notifyNoUpdate=true
    add_image("ImgA", updates_available=False)

    # When the schedule starts a run
    execution = run(notify_runner)

    # Then one "up to date" e-mail goes out, and nothing is created
    assert execution.status == "SUCCEEDED"
    (email,) = execution.emails
    assert email.subject == "AppStream image up to date: ImgA"
    assert "No updates are available for ImgA" in email.body
    assert email.attributes == {"outcome": "NO_UPDATE", "image": "ImgA"}
    assert real_creates(sim.calls) == []


# --- 3. the update fails -------------------------------------------------------------------


def test_failed_update_is_explained(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA's update ends FAILED with a reason and two image errors
    imga_has_an_update_imgb_none(add_image)
    sim.script_update(
        "ImgA",
        polls=2,
        outcome="FAILED",
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message="Windows Update returned 0x80070643 while installing KB5034441.",
        errors=[
            ("INTERNAL_SERVICE_ERROR", "The temporary image builder stopped unexpectedly."),
            ("DOMAIN_JOIN_ERROR_ACCESS_DENIED", "Access is denied."),
        ],
    )

    # When the schedule starts a run
    execution = run(runner)

    # Then the run fails, so the alarm sees it
    assert execution.status == "FAILED"
    assert execution.error == "ImageUpdatesFailed"
    assert execution.states[-1] == "Some images failed"
    # and the failure e-mail carries AppStream's reason, every image error, and a remedy
    (email,) = execution.emails
    assert email.subject == "AppStream image update FAILED: ImgA"
    assert email.attributes == {"outcome": "FAILED", "image": "ImgA"}
    assert (
        "IMAGE_UPDATE_FAILURE: Windows Update returned 0x80070643 while installing KB5034441."
        in email.body
    )
    assert "INTERNAL_SERVICE_ERROR: The temporary image builder stopped unexpectedly." in email.body
    assert "DOMAIN_JOIN_ERROR_ACCESS_DENIED: Access is denied." in email.body
    assert "What to do: AppStream could not apply the updates." in email.body
    assert {r["image"]: r["outcome"] for r in image_results(execution)} == {
        "ImgA": "FAILED",
        "ImgB": "NO_UPDATE",
    }


# --- 4. throttling and concurrent modification ------------------------------------------------


def test_throttling_and_concurrent_modification_are_retried(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given AppStream throttles the first three DescribeImages calls and answers the first
    # real create with ConcurrentModificationException
    imga_has_an_update_imgb_none(add_image)
    sim.fail("DescribeImages", "ThrottlingException", calls=3)
    sim.fail(
        "CreateUpdatedImage",
        "ConcurrentModificationException",
        calls=1,
        when=lambda params: not params.get("dryRun", False),
    )

    # When the schedule starts a run
    execution = run(runner)

    # Then each refused call was retried after a short wait, and the run succeeded (each
    # throttled call was first re-sent by the SDK: a read, safe to repeat)
    throttled = [c for c in sim.calls if c.error == "ThrottlingException"]
    assert [c.attempt for c in throttled] == [1, 2, 3] * 3
    assert len(execution.retry_waits) == 4  # three throttled checks, one refused create
    assert all(0 <= wait < QUOTA_RETRY_SECONDS for wait in execution.retry_waits)
    assert execution.status == "SUCCEEDED"
    # and the retried create built exactly one image, under the name the first try asked for
    creates = real_creates(sim.calls)
    assert [c.error for c in creates] == ["ConcurrentModificationException", None]
    assert creates[0].params["newImageName"] == creates[1].params["newImageName"]
    assert list(new_images(sim, BASE_IMAGES)) == [creates[1].params["newImageName"]]
    (email,) = execution.emails
    assert email.attributes == {"outcome": "SUCCEEDED", "image": "ImgA"}


# --- 5. quota reached -----------------------------------------------------------------------


def test_quota_is_retried_at_length_then_reported(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given every real create is refused: the image quota is reached
    imga_has_an_update_imgb_none(add_image)
    sim.fail(
        "CreateUpdatedImage",
        "LimitExceededException",
        calls=None,
        message="The number of images exceeds the quota for this account.",
        when=lambda params: not params.get("dryRun", False),
    )

    # When the schedule starts a run
    execution = run(runner)

    # Then the create was retried with long waits (quotas free up slowly), over an hour in all
    assert len(real_creates(sim.calls)) == 1 + len(execution.retry_waits)
    assert len(execution.retry_waits) >= 3
    assert all(wait >= QUOTA_RETRY_SECONDS for wait in execution.retry_waits)
    assert sum(execution.retry_waits) >= 3600
    # and then the failure e-mail says a quota is the problem; nothing was created
    assert execution.status == "FAILED"
    (email,) = execution.emails
    assert email.subject == "AppStream image update FAILED: ImgA"
    assert "UpdateQuotaExceeded" in email.body
    assert "The number of images exceeds the quota for this account." in email.body
    assert "request a higher quota in Service Quotas" in email.body
    assert new_images(sim, BASE_IMAGES) == {}


# --- 6. a configured image does not exist -------------------------------------------------------


def test_missing_source_image_is_reported_and_others_still_updated(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgB is configured but does not exist; ImgA has updates
    add_image("ImgA", updates_available=True)

    # When the schedule starts a run
    execution = run(runner)

    # Then ImgB's failure e-mail names it and the error
    assert execution.status == "FAILED"
    missing = email_for(execution, "ImgB")
    assert missing.subject == "AppStream image update FAILED: ImgB"
    assert missing.attributes["outcome"] == "FAILED"
    assert "SourceImageNotFound" in missing.body
    assert "The configured image 'ImgB' does not exist" in missing.body
    assert "Check the spelling in `imageNames`" in missing.body
    # and ImgA was updated all the same
    (created,) = new_images(sim, BASE_IMAGES)
    assert email_for(execution, "ImgA").subject == f"AppStream image ready: {created}"
    assert len(execution.emails) == 2


# --- 7. the lineage: a second run does not rebuild --------------------------------------------


def test_second_run_updates_the_newest_image_not_the_root(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given a first run built an update of ImgA, and ImgA itself still reports updates
    imga_has_an_update_imgb_none(add_image)
    first = run(runner)
    assert first.status == "SUCCEEDED"
    (created,) = new_images(sim, BASE_IMAGES)
    calls_before = len(sim.calls)

    # When the next scheduled run starts, a day later, on the same account
    timeline.next_run()
    second = run(runner)

    # Then it dry-runs the newest image of the lineage, which is up to date, and builds nothing
    calls = sim.calls[calls_before:]
    dry_runs = {
        c.params["existingImageName"]
        for c in calls
        if c.operation == "CreateUpdatedImage" and c.params.get("dryRun")
    }
    assert dry_runs == {created, "ImgB"}
    assert real_creates(calls) == []
    assert list(new_images(sim, BASE_IMAGES)) == [created]
    assert second.status == "SUCCEEDED"
    assert second.emails == []
    assert {r["image"]: r["outcome"] for r in second.output["results"]} == {
        "ImgA": "NO_UPDATE",
        "ImgB": "NO_UPDATE",
    }


# --- 8. an update already in progress is followed ------------------------------------------


def test_update_in_progress_is_followed_not_duplicated(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given an earlier run started an update of ImgA (through the API, so it progresses)
    # that is still PENDING, tagged as ImgA's lineage
    imga_has_an_update_imgb_none(add_image)
    sim.script_update("ImgA", polls=2)
    building = naming.derived_image_name("ImgA", timeline.clock.start - timedelta(hours=1))
    with sim.active():
        appstream = boto3.client(
            "appstream",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        appstream.create_updated_image(
            existingImageName="ImgA",
            newImageName=building,
            newImageTags=lineage_tags("ImgA", "ImgA"),
            dryRun=False,
        )
    assert sim.images[building]["State"] == "PENDING"
    calls_before = len(sim.calls)

    # When the schedule starts a run
    execution = run(runner)

    # Then no update is started: the run follows the one in progress to its end
    calls = sim.calls[calls_before:]
    assert real_creates(calls) == []
    assert not any(
        c.operation == "CreateUpdatedImage" and c.params["existingImageName"] == "ImgA"
        for c in calls
    )
    status_checks = [
        c for c in calls if c.operation == "DescribeImages" and c.params.get("Names") == [building]
    ]
    assert len(status_checks) == 2
    assert [i.result["newImageName"] for i in execution.invoked("poll")] == [building] * 2
    assert execution.status == "SUCCEEDED"
    assert list(new_images(sim, BASE_IMAGES)) == [building]
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {building}"
    assert email.attributes == {"outcome": "SUCCEEDED", "image": "ImgA"}


# --- 9. the create finds its own image already there ----------------------------------------


def _create_then_answer_already_exists(sim: SimulatedAppStream, timeline: Timeline) -> None:
    """The first real create starts the update, yet its caller gets
    ResourceAlreadyExistsException: what a retry sees after a lost response.

    The simulation has no public way to script this, and its `when` predicates run under its
    (non-reentrant) lock, so the predicate starts the update with the simulation's own
    internal step instead of a nested API call."""

    def started(params: Mapping[str, Any]) -> bool:
        if params.get("dryRun", False):
            return False
        source = sim._stored(params["existingImageName"])
        sim._start_update(source, params, timeline.now())
        return True

    sim.fail("CreateUpdatedImage", "ResourceAlreadyExistsException", calls=1, when=started)


def test_create_that_finds_its_own_image_carries_on(
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given the real create of ImgA's update answers ResourceAlreadyExists for the image it
    # has just started
    imga_has_an_update_imgb_none(add_image)
    _create_then_answer_already_exists(sim, timeline)

    # When the schedule starts a run
    execution = run(runner)

    # Then the run recognizes its own image, follows it, and reports success only
    (create,) = real_creates(sim.calls)
    assert create.error == "ResourceAlreadyExistsException"
    created = create.params["newImageName"]
    assert list(new_images(sim, BASE_IMAGES)) == [created]
    assert execution.status == "SUCCEEDED"
    (email,) = execution.emails
    assert email.subject == f"AppStream image ready: {created}"
    assert email.attributes == {"outcome": "SUCCEEDED", "image": "ImgA"}
    assert "FAILED" not in email.subject


# --- 10. maxUpdateHours exceeded ---------------------------------------------------------------


def test_update_longer_than_max_update_hours_is_reported_as_still_running(
    short_runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given maxUpdateHours=1 with ten-minute polls, and an update of ImgA that takes three
    # hours (ImgB is up to date)
    imga_has_an_update_imgb_none(add_image)
    sim.script_update("ImgA", duration=timedelta(hours=3))

    # When the schedule starts a run
    execution = run(short_runner)

    # Then it checks six times, ten minutes apart, and stops waiting
    assert len(execution.invoked("poll")) == 6
    assert execution.waits == [600] * 6
    assert execution.status == "FAILED"
    assert execution.error == "ImageUpdatesFailed"
    # and says the update is still running (AppStream keeps building it)
    (created,) = new_images(sim, BASE_IMAGES)
    assert sim.images[created]["State"] == "PENDING"
    (email,) = execution.emails
    assert email.subject == "AppStream image update still running: ImgA"
    assert email.attributes == {"outcome": "TIMED_OUT", "image": "ImgA"}
    assert "still running after 1 h (maxUpdateHours)" in email.body
    assert created in email.body
    assert {r["image"]: r["outcome"] for r in image_results(execution)} == {
        "ImgA": "TIMED_OUT",
        "ImgB": "NO_UPDATE",
    }


def test_timed_out_update_still_counts_against_max_concurrent_updates(
    short_runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given maxConcurrentUpdates=1 and maxUpdateHours=1, and two three-hour updates
    for name in BASE_IMAGES:
        add_image(name, updates_available=True)
        sim.script_update(name, duration=timedelta(hours=3))

    # When the schedule starts a run
    execution = run(short_runner)

    # Then the first is reported as still running; the second waited for a slot that the
    # still-building first update never freed, and says so
    outcomes = {e.attributes["image"]: e.attributes["outcome"] for e in execution.emails}
    assert sorted(outcomes.values()) == ["FAILED", "TIMED_OUT"]
    (waited,) = [e for e in execution.emails if e.attributes["outcome"] == "FAILED"]
    assert "UpdateSlotsBusy" in waited.body
    assert max(execution.retry_waits) >= 600
    # and at no time were two updates building at once
    assert sim.max_concurrent_updates_seen == 1


# --- 11. bounded concurrency -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("runner_fixture", "images"), [("runner", BASE_IMAGES), ("ten_runner", TEN_IMAGES)]
)
def test_at_most_max_concurrent_updates_build_at_once(
    runner_fixture: str,
    images: tuple[str, ...],
    request: pytest.FixtureRequest,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
) -> None:
    # Given maxConcurrentUpdates=2, every image has updates, and AppStream would accept
    # more concurrent updates (and images) than that
    workflow: WorkflowRunner = request.getfixturevalue(runner_fixture)
    sim.set_quota(concurrent_updates=5, images=25)
    for index, name in enumerate(images):
        add_image(name, updates_available=True)
        sim.script_update(name, polls=1 + index % 3)

    # When the schedule starts a run
    execution = run(workflow)

    # Then never more than two updates were building at once
    assert 1 <= sim.max_concurrent_updates_seen <= 2
    # and every image was updated and reported
    assert execution.status == "SUCCEEDED"
    assert len(new_images(sim, images)) == len(images)
    assert sorted(e.attributes["image"] for e in execution.emails) == sorted(images)
    assert all(e.subject.startswith("AppStream image ready: ") for e in execution.emails)
    assert sorted(r["image"] for r in execution.output["results"]) == sorted(images)


# --- 12. a root name of the maximum length ---------------------------------------------------


def test_long_root_name_yields_valid_names_and_no_rebuild(
    long_name_runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    timeline: Timeline,
) -> None:
    # Given a configured image whose name has AppStream's maximum length, with updates
    assert len(LONG_ROOT) == naming.IMAGE_NAME_MAX
    add_image(LONG_ROOT, updates_available=True)

    # When the schedule starts a run, and the next day another
    first = run(long_name_runner)
    timeline.next_run()
    second = run(long_name_runner)

    # Then the first built one image whose name AppStream accepts
    assert first.status == "SUCCEEDED"
    (created,) = new_images(sim, (LONG_ROOT,))
    assert len(created) <= naming.IMAGE_NAME_MAX
    assert APPSTREAM_NAME.fullmatch(created)
    assert created.startswith(LONG_ROOT[:60])
    assert sim.tags(created)[naming.LINEAGE_ROOT_TAG] == LONG_ROOT
    assert len(first.emails) == 1
    # and the second recognized it as the lineage's newest image and built nothing
    assert second.status == "SUCCEEDED"
    assert started_updates(sim.calls) == [created]
    assert second.output["results"][0]["outcome"] == "NO_UPDATE"


# --- 13. a hand-started run with bad input ---------------------------------------------------


@pytest.mark.parametrize(
    ("execution_input", "problem"),
    [
        ({"dryRun": False}, "the field 'images' is missing"),
        ({"images": ["ImgA"], "image": "ImgB"}, "unknown field 'image'"),
        ({"images": ["ImgA", "Nope"]}, "'Nope' is not one of the configured images"),
        ("ImgA", "must be a JSON object"),
    ],
    ids=["missing-images", "unknown-field", "not-configured", "not-an-object"],
)
def test_bad_input_is_refused_before_touching_appstream(
    execution_input: Any,
    problem: str,
    runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
) -> None:
    # Given images that could be updated
    both_images_have_an_update(add_image)

    # When someone starts a run by hand with bad input
    execution = run(runner, execution_input)

    # Then the run is refused, with one e-mail naming the problem, and AppStream is not called
    assert execution.status == "FAILED"
    assert execution.error == "RunRefused"
    assert states.UPDATE_EACH_IMAGE not in execution.states
    (email,) = execution.emails
    assert email.subject == "AppStream image updater: run refused (invalid input)"
    assert email.attributes == {"outcome": "REJECTED", "image": "-"}
    assert "InvalidExecutionInput" in email.body
    assert problem in email.body
    assert sim.calls == []


# --- 14. dry run --------------------------------------------------------------------------------


def test_dry_run_reports_what_it_would_do_and_changes_nothing(
    runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA has updates
    both_images_have_an_update(add_image)

    # When someone starts a dry run of ImgA by hand
    execution = run(runner, {"images": ["ImgA"], "dryRun": True})

    # Then the result says an update would be made, under which name
    assert execution.status == "SUCCEEDED"
    (result,) = execution.output["results"]
    assert result["image"] == "ImgA"
    assert result["outcome"] == "DRY_RUN"
    assert result["action"] == "UPDATE"
    assert naming.is_derived_name("ImgA", result["newImageName"])
    assert result["failed"] is False
    # and nothing was created, nobody e-mailed, and ImgB was left alone
    creates = [c for c in sim.calls if c.operation == "CreateUpdatedImage"]
    assert [(c.params["existingImageName"], c.params["dryRun"]) for c in creates] == [
        ("ImgA", True)
    ]
    assert new_images(sim, BASE_IMAGES) == {}
    assert execution.emails == []
    assert "ImgB" not in json.dumps([c.params for c in sim.calls])
