"""Distribution through the synthesized state machine: a ready image copied to two Regions and
shared with three accounts, one Region failing, a lost CopyImage answer, the copies quota."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache

import boto3
import pytest

from image_updater.domain import naming
from image_updater.rollout.models import FOLLOWS_TAG, STAGE_TAG
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import WorkflowRunner, set_alarm_state
from tests.workflow.conftest import BASE_IMAGES, EMAILS, AddImage, Run
from tests.workflow.steps import imga_has_an_update_imgb_none

pytestmark = pytest.mark.workflow

EUROPE, TOKYO = "eu-west-1", "ap-northeast-1"
CANARY_ALARM = "CanaryErrors"
OTHERS = ("Other-1", "Other-2")  # an admin's images, copied by hand
A, B, C = "111122223333", "444455556666", "777788889999"
SHARES = [
    {"accountId": A, "allowFleet": True, "allowImageBuilder": False},
    {"accountId": B, "allowFleet": True, "allowImageBuilder": True, "regions": [EUROPE]},
    {"accountId": C, "allowFleet": False, "allowImageBuilder": True},
]


@cache
def distributing() -> WorkflowRunner:
    return WorkflowRunner(
        {
            "imageNames": ",".join(BASE_IMAGES),
            "notificationEmails": EMAILS,
            "pollIntervalMinutes": "15",
            "newImageTags": '{"CostCenter": "EUC"}',
            "copyToRegions": f"{EUROPE},{TOKYO}",
            "shareWithAccounts": json.dumps(SHARES),
        }
    )


def new_image(sim: SimulatedAppStream) -> str:
    (name,) = [name for name in sim.images if name not in (*BASE_IMAGES, *OTHERS)]
    return name


def test_a_ready_image_is_copied_tagged_and_shared_everywhere(
    sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given ImgA has an update, no fleet follows it, and copies take 40 minutes
    imga_has_an_update_imgb_none(add_image)
    for region in (EUROPE, TOKYO):
        sim.in_region(region).script_copies(duration=timedelta(minutes=40))

    # When the schedule starts a run
    execution = run(distributing())

    # Then the new image is in both Regions, tagged, and shared as configured
    assert execution.status == "SUCCEEDED", execution.cause
    name = new_image(sim)
    for region in (EUROPE, TOKYO):
        there = sim.in_region(region)
        assert there.images[name]["State"] == "AVAILABLE"
        assert there.images[name]["Description"] == sim.images[name]["Description"]
        assert there.tags(name)[naming.LINEAGE_ROOT_TAG] == "ImgA"
        assert there.tags(name)["CostCenter"] == "EUC"
    assert set(sim.shares(name)) == {A, C}
    assert set(sim.in_region(EUROPE).shares(name)) == {A, B, C}
    assert set(sim.in_region(TOKYO).shares(name)) == {A, C}
    assert sim.in_region(EUROPE).shares(name)[B] == {"allowFleet": True, "allowImageBuilder": True}
    # one copy per Region, and the run waited for them in Wait states
    assert len([c for c in sim.calls if c.operation == "CopyImage"]) == 2
    assert "Wait for the copy" in execution.states
    # the e-mails: ready (saying where the image goes next), then distributed
    subjects = [email.subject for email in execution.emails]
    assert subjects[0] == f"AppStream image ready: {name}"
    assert (
        f"this image is copied to {EUROPE}, {TOKYO} and shared with 3 account(s)"
        in execution.emails[0].body
    )
    assert subjects[-1] == f"AppStream image updater: {name} distributed"
    body = execution.emails[-1].body
    assert f"{EUROPE}" in body and f"{TOKYO}" in body and B in body
    assert "was copied to 2 Region(s) and shared with 3 account(s)" in body
    # and the events
    kinds = [event["detail-type"] for event in execution.events]
    assert kinds.count("Image Copied") == 2
    assert kinds.count("Image Shared") == 3
    assert "Distribution Failed" not in kinds


def test_one_region_failing_a_lost_answer_and_the_quota_hide_nothing(
    sim: SimulatedAppStream, add_image: AddImage, run: Run
) -> None:
    # Given Tokyo's copies fail, the first CopyImage answer is lost on the way back, and
    # Europe is busy with two copies an admin started (done in 3 hours)
    imga_has_an_update_imgb_none(add_image)
    europe = sim.in_region(EUROPE)
    sim.in_region(TOKYO).script_copies(outcome="FAILED", duration=timedelta(minutes=20))
    europe.script_copies(duration=timedelta(hours=3))
    with sim.active():
        admin = boto3.client(
            "appstream",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for other in OTHERS:
            sim.add_image(other)
            admin.copy_image(
                SourceImageName=other, DestinationImageName=other, DestinationRegion=EUROPE
            )
    europe.script_copies(duration=timedelta(minutes=30))
    sim.lose_responses("CopyImage")

    # When the run distributes ImgA's new image
    execution = run(distributing())

    # Then Europe got its copy (after the quota freed up) and its shares, Tokyo is reported
    # failed, and the run ends FAILED so the alarm sees it
    name = new_image(sim)
    assert execution.status == "FAILED"
    assert execution.error == "DistributionFailed"
    assert europe.images[name]["State"] == "AVAILABLE"
    assert set(europe.shares(name)) == {A, B, C}
    assert set(sim.shares(name)) == {A, C}
    assert sim.in_region(TOKYO).shares(name) == {}
    copies = [c for c in sim.calls if c.operation == "CopyImage"][len(OTHERS) :]
    # the lost answer (Tokyo or Europe) was not re-sent by the SDK, and no second copy was made
    assert [c.error for c in copies].count("ReadTimeoutError") == 1
    assert all(c.attempt == 1 for c in copies)
    # the copies quota refused Europe's copy until the admin's were done: the workflow
    # retried it with its backoff (10, 15, 22.5 minutes, ...), the SDK never
    assert "LimitExceededException" in [c.error for c in copies]
    quota_waits = [w for w in execution.retry_waits if w >= 600]
    assert quota_waits[:3] == [600.0, 900.0, 1350.0]
    made = [c.params["DestinationRegion"] for c in copies if c.error in (None, "ReadTimeoutError")]
    assert sorted(made) == sorted([TOKYO, EUROPE])
    # the e-mail lists every copy and share with its outcome
    email = execution.emails[-1]
    assert email.subject.startswith(f"AppStream image updater: {name} distributed with")
    lines = email.body.splitlines()
    assert f"  {EUROPE:<16}AVAILABLE, lineage tags applied" in lines
    # (the step retried after the lost answer may find Tokyo's copy failed already)
    assert any(line.startswith(f"  {TOKYO:<16}copy failed: ") for line in lines)
    assert f"  {EUROPE:<16}{B}  shared (fleets, image builders)" in lines
    assert f"  {'us-east-1':<16}{C}  shared (image builders)" in lines
    not_shared = [
        line for line in lines if line.startswith(f"  {TOKYO:<16}") and "not shared" in line
    ]
    assert len(not_shared) == 2
    kinds = [event["detail-type"] for event in execution.events]
    assert kinds.count("Image Copied") == 1
    assert "Distribution Failed" in kinds


@cache
def distributing_after_canaries() -> WorkflowRunner:
    """ImgA alone, its canary checked at once against an alarm, production without approval,
    then copied to Europe and shared with account A."""
    return WorkflowRunner(
        {
            "imageNames": "ImgA",
            "notificationEmails": EMAILS,
            "canarySoakHours": "0",
            "canaryAlarmNames": CANARY_ALARM,
            "requireApproval": "false",
            "copyToRegions": EUROPE,
            "shareWithAccounts": json.dumps([{"accountId": A}]),
        }
    )


@pytest.mark.parametrize(
    ("canary", "alarm", "leaves_the_hub"),
    [
        (True, "OK", True),  # production updated
        (True, "ALARM", False),  # the canary rolled back (a failed roll-out)
        (False, "OK", False),  # held back: nothing tested it, nobody may let it go untested
    ],
    ids=["passed", "rolled-back", "held-back"],
)
def test_only_an_image_whose_roll_out_here_passed_leaves_the_hub(
    sim: SimulatedAppStream,
    add_image: AddImage,
    run: Run,
    canary: bool,
    alarm: str,
    leaves_the_hub: bool,
) -> None:
    # Given a production fleet (and maybe a canary) follows ImgA; the canary's alarm is `alarm`
    add_image("ImgA", updates_available=True)
    if canary:
        sim.add_fleet("Canary", image="ImgA", tags={FOLLOWS_TAG: "ImgA", STAGE_TAG: "canary"})
    sim.add_fleet("Prod", image="ImgA", tags={FOLLOWS_TAG: "ImgA", STAGE_TAG: "production"})
    set_alarm_state(sim, CANARY_ALARM, alarm)

    # When the run builds, rolls out and (maybe) distributes the image
    execution = run(distributing_after_canaries())

    # Then a healthy roll-out is followed by the copy and the share; a rolled-back one never
    name = new_image(sim)
    operations = {c.operation for c in sim.calls}
    assert ("CopyImage" in operations) is leaves_the_hub
    assert ("UpdateImagePermissions" in operations) is leaves_the_hub
    assert (name in sim.in_region(EUROPE).images) is leaves_the_hub
    distributed = [e for e in execution.emails if e.subject.endswith(f"{name} distributed")]
    assert len(distributed) == (1 if leaves_the_hub else 0)
    assert "Not distributed" in execution.states or leaves_the_hub
