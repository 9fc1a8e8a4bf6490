"""Retention through the synthesized workflow: after an update settles, the lineage's older
images beyond keepImages are deleted, and never one that a fleet, an image builder, another
account or a person depends on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from image_updater.domain import naming
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import WorkflowRunner
from tests.workflow.conftest import EMAILS, AddImage, Run, Timeline

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="session")
def keep_two() -> WorkflowRunner:
    return WorkflowRunner({"imageNames": "Base", "notificationEmails": EMAILS, "keepImages": "2"})


@pytest.fixture(scope="session")
def keep_none() -> WorkflowRunner:
    return WorkflowRunner({"imageNames": "Base", "notificationEmails": EMAILS, "keepImages": "0"})


class Lineage:
    """The lineage Base: its root, and the older members an earlier run of the updater built."""

    def __init__(self, add_image: AddImage, timeline: Timeline) -> None:
        self.add_image, self.timeline = add_image, timeline

    def member(self, days: int, **kwargs: object) -> str:
        """Given a member of the lineage built `days` ago (no update of its own unless said)."""
        created = self.timeline.now() - timedelta(days=days)
        name = f"Base-{created:%Y%m%d-%H%M%S}"
        default_tags = {naming.LINEAGE_ROOT_TAG: "Base", naming.SOURCE_IMAGE_TAG: "Base"}
        tags = kwargs.pop("tags", default_tags)
        kwargs.setdefault("updates_available", False)
        self.add_image(
            name,
            created_time=created,
            tags=tags,
            description=naming.new_image_description("Base", created),
            **kwargs,
        )
        return name


@pytest.fixture
def lineage(add_image: AddImage, timeline: Timeline) -> Lineage:
    """Given the root Base, created 400 days ago, with no update of its own."""
    add_image("Base", updates_available=False, created_time=timeline.now() - timedelta(days=400))
    return Lineage(add_image, timeline)


def test_after_a_success_only_unprotected_older_images_are_deleted_and_listed(
    keep_two: WorkflowRunner, sim: SimulatedAppStream, lineage: Lineage, run: Run
) -> None:
    # Given the root (used by a fleet of its own) and eight older images of its lineage:
    sim.add_fleet("Legacy", image="Base")
    newest = lineage.member(10, updates_available=True)  # kept: newest
    plain = lineage.member(40)  # deleted
    by_name = lineage.member(50)  # a fleet uses it by name
    by_arn = lineage.member(60)  # a fleet uses it by ARN
    built_from = lineage.member(70)  # an image builder was started from it
    shared = lineage.member(80)  # shared with another account
    untagged = lineage.member(90, tags={})  # its lineage tag was removed
    failed = lineage.member(100, state="FAILED")  # deleted
    sim.set_updates_available(newest, True)
    sim.add_fleet("Prod", image=by_name)
    sim.add_fleet("Staging", image=by_arn, by_arn=True)
    sim.add_fleet("Elastic", image=None, fleet_type="ELASTIC")
    sim.add_image_builder("Builder1", image=built_from)
    sim.share_image(shared, "111122223333")
    sim.set_quota(images=20)

    # When an update of the newest image succeeds (keepImages=2: the new one and `newest`)
    execution = run(keep_two)

    # Then exactly the two unprotected older images were deleted, nothing else
    assert sorted(sim.deleted) == sorted([plain, failed])
    assert "Base" in sim.images
    # and the e-mail says what was deleted and why each other one was kept
    (email,) = execution.emails
    assert email.subject.startswith("AppStream image ready: Base-")
    assert "Deleted older images of this lineage (beyond keepImages): " in email.body
    for name in (plain, failed):
        assert name in email.body
    assert f"{by_name}: in use by fleet Prod" in email.body
    assert f"{by_arn}: in use by fleet Staging" in email.body
    assert f"{built_from}: image builder Builder1 was started from it" in email.body
    assert f"{shared}: shared with account 111122223333" in email.body
    assert f"{untagged}: its lineage tag is missing" in email.body
    assert newest not in sim.deleted
    assert execution.status == "SUCCEEDED"
    # and an "Images Deleted" event names exactly what went
    (deleted_event,) = [e for e in execution.events if e["detail-type"] == "Images Deleted"]
    assert sorted(i["name"] for i in deleted_event["detail"]["deletedImages"]) == sorted(
        [plain, failed]
    )


def test_a_refused_deletion_is_reported_and_the_update_still_succeeds(
    keep_two: WorkflowRunner, sim: SimulatedAppStream, lineage: Lineage, run: Run
) -> None:
    # Given an old unprotected image that AppStream nevertheless refuses to delete
    newest = lineage.member(10, updates_available=True)
    stubborn = lineage.member(40)
    lineage.member(20)
    sim.fail(
        "DeleteImage",
        "ResourceInUseException",
        message="The image is in use.",
        when=lambda p: p["Name"] == stubborn,
    )

    # When
    execution = run(keep_two)

    # Then it stays, the e-mail says AppStream refused, and the run succeeded
    assert stubborn in sim.images
    (email,) = execution.emails
    assert f"{stubborn}: AppStream refused to delete it" in email.body
    assert execution.status == "SUCCEEDED"
    assert newest in sim.images


def test_keep_images_zero_never_deletes(
    keep_none: WorkflowRunner, sim: SimulatedAppStream, lineage: Lineage, run: Run
) -> None:
    # Given many old images and keepImages=0
    newest = lineage.member(10, updates_available=True)
    for days in (20, 30, 40):
        lineage.member(days)
    sim.set_updates_available(newest, True)

    # When an update succeeds
    execution = run(keep_none)

    # Then nothing is deleted, and nothing was even asked
    assert sim.deleted == []
    assert execution.appstream_calls("DeleteImage") == []
    assert execution.status == "SUCCEEDED"


def test_retention_failing_never_fails_the_update(
    keep_two: WorkflowRunner, sim: SimulatedAppStream, lineage: Lineage, run: Run
) -> None:
    # Given DescribeFleets fails for good (AppStream unreachable)
    lineage.member(40, updates_available=True)
    lineage.member(50)
    lineage.member(60)
    sim.fail("DescribeFleets", "ThrottlingException", calls=None)

    # When an update succeeds
    execution = run(keep_two)

    # Then nothing was deleted, the e-mail is "ready" and says retention did not run
    assert sim.deleted == []
    ready, rollout = execution.emails
    assert ready.subject.startswith("AppStream image ready: Base-")
    assert "retention did not run" in ready.body
    # (the roll-out cannot read the fleets either: it says so, and that fails the run)
    assert rollout.subject.startswith("AppStream roll-out FAILED: Base-")
    assert "The fleets could not be read for this e-mail" in rollout.body
    assert execution.error == "RolloutFailed"


def test_a_quota_refusal_says_which_quota_what_the_account_holds_and_what_is_protected(
    keep_two: WorkflowRunner,
    sim: SimulatedAppStream,
    lineage: Lineage,
    add_image: AddImage,
    run: Run,
) -> None:
    # Given the images quota is full: the root, three lineage images (one older than the
    # newest two but in use by a fleet) and other images of the account
    lineage.member(10, updates_available=True)
    lineage.member(20)
    in_use = lineage.member(30)
    sim.add_fleet("Prod", image=in_use)
    for index in range(6):
        add_image(f"Other{index}", updates_available=False)
    sim.set_quota(images=10)

    # When the update is refused for the images quota, after the workflow's retries
    execution = run(keep_two)

    # Then the failure e-mail names the quota, the count, the protected image and the link
    (email,) = execution.emails
    assert email.subject == "AppStream image update FAILED: Base"
    assert "Quota reached: images (default 10 per Region)." in email.body
    assert "The account holds 10 images of its own." in email.body
    assert f"{in_use} (in use by fleet Prod)" in email.body
    assert "servicequotas/home/services/appstream2/quotas" in email.body
    assert sim.deleted == []


def test_after_a_failed_update_older_failed_images_are_deleted_and_listed(
    keep_two: WorkflowRunner, sim: SimulatedAppStream, lineage: Lineage, run: Run
) -> None:
    # Given last week's attempt at an update ended FAILED, and the newest ready image still
    # has the update pending
    newest = lineage.member(30, updates_available=True)
    last_week = lineage.member(7, state="FAILED")
    lineage.member(60)  # ready: with `newest`, the two keepImages keeps
    oldest = lineage.member(90)  # ready, beyond keepImages
    sim.script_update(newest, outcome="FAILED", reason_message="KB5034441 did not install.")

    # When this week's attempt fails too
    execution = run(keep_two)

    # Then last week's FAILED image and the oldest ready one are deleted (a failing month
    # must not fill the images quota); this week's stays, for the admin to look at
    assert execution.status == "FAILED"
    assert sorted(sim.deleted) == sorted([last_week, oldest])
    (this_week,) = [n for n, i in sim.images.items() if i["State"] == "FAILED"]
    assert this_week not in sim.deleted and newest in sim.images
    # and the failure e-mail says so, after the reason
    (email,) = execution.emails
    assert email.subject == "AppStream image update FAILED: Base"
    assert "KB5034441 did not install." in email.body
    deleted_line = next(line for line in email.body.splitlines() if line.startswith("Deleted"))
    assert last_week in deleted_line and oldest in deleted_line
    assert email.body.index("What to do:") < email.body.index("Deleted older images")
    # and subscribers heard about the deletions
    (deleted_event,) = [e for e in execution.events if e["detail-type"] == "Images Deleted"]
    assert {i["name"] for i in deleted_event["detail"]["deletedImages"]} == {last_week, oldest}
