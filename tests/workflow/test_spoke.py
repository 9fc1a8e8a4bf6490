"""A spoke's state machine, synthesized with `hubAccountId` and run end to end: it finds the
image the hub shared with this account, rolls it out to this account's tagged fleets by ARN
(canary, soak, health, approval, window, production: the hub's own sub-flow), and a later run
finds nothing new and does nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from image_updater.domain import naming
from image_updater.rollout.models import PREVIOUS_IMAGE_TAG
from rehearsal.approvals import APPROVERS_ROLE
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import WorkflowRunner, set_alarm_state
from tests.workflow.conftest import ALARM, EMAILS, ROOT, Timeline, follows
from tests.workflow.test_rollout import approve_after, image_of, subjects

HUB = "111122223333"
STRANGER = "999988887777"  # shares a look-alike image with the spoke's account
BASE = "BaseOfThisAccount"  # the image the spoke's fleets run before (this account's own)


def hub_image_name(timeline: Timeline, days_ago: int = 1) -> str:
    return naming.derived_image_name(ROOT, timeline.now() - timedelta(days=days_ago))


def hub_description(name: str) -> str:
    return f"{ROOT} with the latest updates, built {name[-15:-7]} {naming.DESCRIPTION_MARKER}"


@pytest.fixture(scope="session")
def spoke_runner() -> WorkflowRunner:
    """A spoke of HUB for ImgA: soak 24 h, alarm checked, approval required, production at
    once (the hub's roll-out keys, in the spoke)."""
    return WorkflowRunner(
        {
            "imageNames": ROOT,
            "notificationEmails": EMAILS,
            "hubAccountId": HUB,
            "canarySoakHours": "24",
            "canaryAlarmNames": ALARM,
            "requireApproval": "true",
            "approvers": APPROVERS_ROLE,
        }
    )


@pytest.fixture
def spoke(sim: SimulatedAppStream, timeline: Timeline) -> SimulatedAppStream:
    """The spoke's account: its own base image, a canary and a production fleet on it, and an
    image of ImgA's lineage the hub shared with it a day ago."""
    sim.add_image(BASE, created_time=timeline.before_first_run)
    sim.add_fleet("Canary", image=BASE, tags=follows("canary"))
    sim.add_fleet("Prod", image=BASE, tags=follows("production"))
    sim.add_fleet("Untagged", image=BASE)
    set_alarm_state(sim, ALARM, "OK")
    name = hub_image_name(timeline)
    sim.receive_shared_image(
        name,
        owner_account=HUB,
        description=hub_description(name),
        created_time=timeline.now() - timedelta(days=1),
    )
    return sim


def test_the_hubs_shared_image_goes_canary_then_approval_then_production_by_arn(
    spoke_runner: WorkflowRunner, spoke: SimulatedAppStream, timeline: Timeline
) -> None:
    shared = hub_image_name(timeline)
    arn = spoke.images[shared]["Arn"]
    with spoke_runner.account(spoke) as account:
        # When the spoke's schedule runs and an approver says yes two hours after asked
        first = account.run(timeline.clock, on_approval=approve_after(2))

        # Then the canary, then production, went to the hub's image, by its ARN
        assert first.status == "SUCCEEDED", (first.error, first.cause)
        updates = [c.params for c in first.appstream_calls("UpdateFleet")]
        assert updates == [
            {"Name": "Canary", "ImageArn": arn},
            {"Name": "Prod", "ImageArn": arn},
        ]
        assert spoke.fleets["Prod"]["ImageArn"] == arn
        assert image_of(spoke, "Untagged") == BASE
        assert spoke.fleet_tags("Prod")[PREVIOUS_IMAGE_TAG] == BASE
        # and the soak came before the approval
        assert 24 * 3600 in first.waits
        assert len(first.approvals) == 1
        # and this account's team was told each milestone (no "image ready": the hub built it)
        assert subjects(first) == [
            f"AppStream canary fleets updated: {shared}",
            f"Approval needed: AppStream image {shared} to production",
            f"AppStream production fleets updated: {shared}",
        ]
        # and its commands name the spoke's stack (run-now's default is the hub's)
        stack = "--stack AppStreamImageUpdaterSpoke"
        assert f"--image {ROOT} {stack}" in first.emails[1].body
        assert f"rollback --fleet Prod {stack}" in first.emails[2].body
        # and no image was changed, copied, shared or deleted
        changing = {"CreateUpdatedImage", "CopyImage", "DeleteImage", "UpdateImagePermissions"}
        assert not changing & {c.operation for c in first.appstream_calls()}

        # When the schedule fires again an hour later
        updated = spoke.fleet_updates
        timeline.next_run(after=timedelta(hours=1))
        second = account.run(timeline.clock)

        # Then it finds nothing new: no roll-out step, no fleet change, no e-mail, no approval
        assert second.status == "SUCCEEDED", (second.error, second.cause)
        assert [i.step for i in second.invocations] == ["spoke_discover"]
        assert spoke.fleet_updates == updated
        assert second.emails == []
        assert second.approvals == []


def test_a_look_alike_shared_by_another_account_is_never_rolled_out(
    spoke_runner: WorkflowRunner, spoke: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given the hub's image was rolled out already
    with spoke_runner.account(spoke) as account:
        account.run(timeline.clock, on_approval=approve_after(1))
        before = spoke.fleet_updates
        # and a stranger shares a newer image named and described like the hub's
        fake = hub_image_name(timeline, days_ago=0)
        spoke.receive_shared_image(
            fake,
            owner_account=STRANGER,
            description=hub_description(fake),
            created_time=timeline.now(),
        )

        # When the schedule runs again
        timeline.next_run(after=timedelta(hours=1))
        later = account.run(timeline.clock)

    # Then nothing was rolled out and nobody was e-mailed
    assert later.status == "SUCCEEDED", (later.error, later.cause)
    assert spoke.fleet_updates == before
    assert later.emails == []
    assert all(fake not in str(f.get("ImageArn")) for f in spoke.fleets.values())


def test_a_spoke_that_cannot_look_for_images_says_so_and_fails(
    spoke_runner: WorkflowRunner, spoke: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given AppStream refuses to list the images shared with this account
    spoke.fail("DescribeImages", "AccessDeniedException", calls=None)

    # When the schedule runs
    execution = spoke_runner.run(spoke, timeline.clock)

    # Then nothing changed, the team was e-mailed why, and the run failed (alarmed)
    assert spoke.fleet_updates == []
    assert execution.status == "FAILED" and execution.error == "DiscoveryFailed"
    (email,) = execution.emails
    assert email.subject == "AppStream image updater (spoke): could not look for new images"
    assert "AccessDeniedException" in email.body


def test_an_unhealthy_canary_goes_back_to_this_accounts_image_and_production_is_untouched(
    spoke_runner: WorkflowRunner, spoke: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given the canary's alarm is in ALARM after the soak
    set_alarm_state(spoke, ALARM, "ALARM")
    shared_name = hub_image_name(timeline)
    base_arn = spoke.images[BASE]["Arn"]

    # When the spoke rolls the hub's image out
    execution = spoke_runner.run(spoke, timeline.clock, on_approval=approve_after(1))

    # Then the canary went to the hub's image and back to its own, production never moved
    assert [c.params for c in execution.appstream_calls("UpdateFleet")] == [
        {"Name": "Canary", "ImageArn": spoke.images[shared_name]["Arn"]},
        {"Name": "Canary", "ImageArn": base_arn},
    ]
    assert image_of(spoke, "Canary") == BASE and image_of(spoke, "Prod") == BASE
    assert execution.approvals == []
    assert execution.status == "FAILED" and execution.error == "RolloutFailed"
    assert subjects(execution)[-1] == f"AppStream canary UNHEALTHY, rolled back: {shared_name}"


def test_the_next_image_the_hub_shares_is_rolled_out_by_the_next_run(
    spoke_runner: WorkflowRunner, spoke: SimulatedAppStream, timeline: Timeline
) -> None:
    with spoke_runner.account(spoke) as account:
        # Given the hub's first image was rolled out
        account.run(timeline.clock, on_approval=approve_after(1))
        # and a week later the hub shares a newer one
        timeline.next_run(after=timedelta(days=7))
        newer = hub_image_name(timeline, days_ago=0)
        spoke.receive_shared_image(
            newer,
            owner_account=HUB,
            description=hub_description(newer),
            created_time=timeline.now() - timedelta(hours=1),
        )

        # When the schedule runs
        later = account.run(timeline.clock, on_approval=approve_after(1))

    # Then the newer image went to the canary, then production
    assert later.status == "SUCCEEDED", (later.error, later.cause)
    arn = spoke.images[newer]["Arn"]
    assert spoke.fleets["Canary"]["ImageArn"] == arn and spoke.fleets["Prod"]["ImageArn"] == arn
    assert subjects(later)[-1] == f"AppStream production fleets updated: {newer}"
