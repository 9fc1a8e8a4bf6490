"""The roll-out to fleets, through the synthesized state machine: canary first, soak, health
check, a person's approval (given with the real run-now code), production in its window,
automatic rollback of an unhealthy canary, and the fleets it must never touch."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from image_updater import events
from image_updater.rollout.models import PREVIOUS_IMAGE_TAG, ROLLED_OUT_TAG
from image_updater.rollout.outcomes import APPROVED
from image_updater.rollout.outcomes import REJECTED as REJECTED_DECISION
from infra.workflow import states
from rehearsal.approvals import APPROVER, LocalFunctionUrl
from rehearsal.approvals import URL as APPROVAL_URL
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import (
    REGION,
    ApprovalRequest,
    Execution,
    WorkflowRunner,
    set_alarm_state,
)
from tests.workflow.conftest import (
    ALARM,
    ROOT,
    AddImage,
    Timeline,
    follows,
    prod_on_the_root,
    rollout_workflow,
)
from tools.run_now.approve import answer
from tools.run_now.errors import NOTHING_TO_DO, OK, TAMPERED, ToolError
from tools.run_now.rollback import roll_back

SHARING_ACCOUNT = "444455556666"  # shares images with the updater's account


def approve_after(hours: float, decision: str = APPROVED, reason: str | None = None) -> Any:
    """The approver, `hours` after the request, with the run-now code and own credentials,
    through the approval function's URL (AWS's part played by LocalFunctionUrl)."""

    def approver(request: ApprovalRequest) -> None:
        request.let_time_pass(hours * 3600)
        code = answer(
            boto3.Session(region_name=REGION),
            request.execution_arn,
            decision,
            io.StringIO(),
            image=request.image,
            reason=reason,
            url=APPROVAL_URL,
            transport=LocalFunctionUrl(APPROVER),
        )
        assert code == OK

    return approver


def image_of(sim: SimulatedAppStream, fleet: str) -> str | None:
    found = sim.fleets[fleet]
    return found.get("ImageName") or found.get("ImageArn")


def new_image(execution: Execution) -> str:
    (created,) = execution.appstream_calls("CreateUpdatedImage")[-1:]
    return str(created.params["newImageName"])


def subjects(execution: Execution) -> list[str]:
    return [email.subject for email in execution.emails]


def detail_types(execution: Execution) -> list[str]:
    return [event["detail-type"] for event in execution.events]


def invoked_at(execution: Execution, action: str) -> list[datetime]:
    return [
        i.at
        for i in execution.invocations
        if isinstance(i.event, dict) and i.event.get("action") == action
    ]


def test_canary_soak_approval_then_production_in_its_window(
    rollout_runner: WorkflowRunner, fleets: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given a canary and two production fleets follow ImgA, and ImgA has an update
    # When the run builds the image and an admin approves two hours after being asked
    execution = rollout_runner.run(fleets, timeline.clock, on_approval=approve_after(2))

    # Then the run succeeded and every following fleet is on the new image, canary first
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    built = new_image(execution)
    assert [fleet for fleet, _ in fleets.fleet_updates] == ["Canary", "ProdA", "ProdB"]
    assert {name: image_of(fleets, name) for name in ("Canary", "ProdA", "ProdB")} == {
        "Canary": built,
        "ProdA": built,
        "ProdB": built,
    }
    # and each records its previous image, its rollback target
    for name in ("Canary", "ProdA", "ProdB"):
        assert fleets.fleet_tags(name)[PREVIOUS_IMAGE_TAG] == ROOT
    # and the fleets it was not given are untouched
    assert image_of(fleets, "Untagged") == ROOT
    assert image_of(fleets, "OtherLineage") == ROOT
    assert PREVIOUS_IMAGE_TAG not in fleets.fleet_tags("OtherLineage")
    # and the canaries soaked 24 h before their check
    assert 24 * 3600 in execution.waits
    (canary_at,) = invoked_at(execution, "update-canaries")
    (check,) = [i for i in execution.invocations if i.step == "rollout_health"]
    assert (check.at - canary_at).total_seconds() >= 24 * 3600
    # and production changed at the window's start (a Saturday, 22:00 UTC) after the approval
    (production_at,) = invoked_at(execution, "update-production")
    (approval,) = execution.approvals
    assert production_at.weekday() == 5 and (production_at.hour, production_at.minute) == (22, 0)
    assert production_at > check.at
    assert approval.answered and not approval.expired.is_set()
    # and every milestone was e-mailed, with the exact approve command in the request
    assert subjects(execution) == [
        f"AppStream image ready: {built}",
        f"AppStream canary fleets updated: {built}",
        f"Approval needed: AppStream image {built} to production",
        f"AppStream production fleets updated: {built}",
    ]
    request = execution.emails[2].body
    assert f'make run-now ARGS="approve {approval.execution_arn} --image {ROOT}"' in request
    assert "Tested on canary fleets Canary since" in request
    assert "alarms OK: CanaryErrors" in request
    assert "ProdA, ProdB" in request
    done = execution.emails[3].body
    assert f"ProdA: {ROOT} -> {built}" in done
    assert "active sessions go on undisturbed" in done
    assert 'make run-now ARGS="rollback --fleet ProdA"' in done
    # and announced as events
    assert detail_types(execution)[-4:] == [
        events.CANARY_FLEETS_UPDATED,
        events.APPROVAL_REQUESTED,
        events.ROLLOUT_APPROVED,
        events.PRODUCTION_FLEETS_UPDATED,
    ]
    approved = next(e for e in execution.events if e["detail-type"] == events.ROLLOUT_APPROVED)
    # who approved: the identity AWS verified for the function URL's caller
    assert approved["detail"]["by"] == APPROVER
    assert f"Approved by {APPROVER}" in done


def test_an_unhealthy_canary_is_rolled_back_and_production_is_never_touched(
    rollout_runner: WorkflowRunner, fleets: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given the canary's alarm is in ALARM after the soak
    set_alarm_state(fleets, ALARM, "ALARM")

    # When the run builds and rolls out the image
    execution = rollout_runner.run(fleets, timeline.clock, on_approval=approve_after(1))

    # Then the canary went to the new image and back to ImgA, and production never moved
    built = new_image(execution)
    assert fleets.fleet_updates == [("Canary", built), ("Canary", ROOT)]
    assert image_of(fleets, "Canary") == ROOT
    assert PREVIOUS_IMAGE_TAG not in fleets.fleet_tags("Canary")  # the record has served
    assert image_of(fleets, "ProdA") == ROOT and image_of(fleets, "ProdB") == ROOT
    # and nobody was asked to approve
    assert execution.approvals == []
    assert states.WAIT_FOR_APPROVAL not in execution.states
    # and the run failed (alarmed), with an e-mail that says why
    assert execution.status == "FAILED" and execution.error == "RolloutFailed"
    assert subjects(execution)[-1] == f"AppStream canary UNHEALTHY, rolled back: {built}"
    assert "alarm CanaryErrors: ALARM" in execution.emails[-1].body
    assert "Production fleets were not touched" in execution.emails[-1].body
    assert detail_types(execution)[-1] == events.CANARY_ROLLED_BACK


def test_fleet_errors_make_a_canary_unhealthy(
    rollout_runner: WorkflowRunner, fleets: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given the canary reports an error and runs below its desired capacity
    fleets.set_fleet_health(
        "Canary", errors=[("IMAGE_NOT_FOUND", "The image could not be found")], running=0
    )

    execution = rollout_runner.run(fleets, timeline.clock)

    # Then it is rolled back, for both reasons
    assert image_of(fleets, "Canary") == ROOT
    body = execution.emails[-1].body
    assert "Canary: IMAGE_NOT_FOUND: The image could not be found" in body
    assert "Canary: 0 of 1 desired instances running" in body


def test_an_approval_nobody_gives_times_out_and_leaves_production(
    rollout_runner: WorkflowRunner, fleets: SimulatedAppStream, timeline: Timeline
) -> None:
    # When nobody answers the approval request
    execution = rollout_runner.run(fleets, timeline.clock)

    # Then after approvalTimeoutHours the roll-out ends, production as it was
    built = new_image(execution)
    (approval,) = execution.approvals
    assert approval.expired.is_set() and approval.timeout_seconds == 72 * 3600
    assert image_of(fleets, "Canary") == built  # tested, and kept: the e-mail says how to revert
    assert image_of(fleets, "ProdA") == ROOT and image_of(fleets, "ProdB") == ROOT
    assert execution.status == "SUCCEEDED"
    assert subjects(execution)[-1] == f"AppStream roll-out approval timed out: {built}"
    assert 'make run-now ARGS="rollback --fleet Canary"' in execution.emails[-1].body
    assert detail_types(execution)[-1] == events.APPROVAL_TIMED_OUT


def test_a_rejection_leaves_production_and_says_who_and_why(
    rollout_runner: WorkflowRunner, fleets: SimulatedAppStream, timeline: Timeline
) -> None:
    execution = rollout_runner.run(
        fleets,
        timeline.clock,
        on_approval=approve_after(3, REJECTED_DECISION, reason="helpdesk reports crashes"),
    )

    built = new_image(execution)
    assert image_of(fleets, "ProdA") == ROOT and image_of(fleets, "ProdB") == ROOT
    assert subjects(execution)[-1] == f"AppStream roll-out rejected: {built}"
    assert "helpdesk reports crashes" in execution.emails[-1].body
    assert detail_types(execution)[-1] == events.ROLLOUT_REJECTED
    assert execution.status == "SUCCEEDED"


def test_elastic_and_other_platform_fleets_are_passed_over_with_the_reason(
    unattended: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given production fleets that cannot take a Windows Server 2022 image while running
    add_image(ROOT, updates_available=True, platform="WINDOWS_SERVER_2022")
    sim.add_fleet("Prod", image=ROOT, tags=follows("production"))
    sim.add_fleet("Elastic", fleet_type="ELASTIC", tags=follows("production"))
    sim.add_fleet("Old", image=ROOT, platform="WINDOWS_SERVER_2019", tags=follows("production"))

    execution = unattended.run(sim, timeline.clock)

    # Then only the fleet that can take it changed, and the e-mail says why the others did not
    built = new_image(execution)
    assert sim.fleet_updates == [("Prod", built)]
    body = execution.emails[-1].body
    assert "Elastic (production): Elastic fleets run app blocks, not images: skipped" in body
    assert "Old (production): the image's platform WINDOWS_SERVER_2022 differs" in body
    assert "the updater never stops a fleet" in body
    assert execution.status == "SUCCEEDED"


def test_without_a_tagged_fleet_nothing_is_rolled_out_or_said(
    unattended: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    add_image(ROOT, updates_available=True)
    sim.add_fleet("Untagged", image=ROOT)
    sim.add_fleet("Other", image=ROOT, tags=follows("production", root="ImgZ"))

    execution = unattended.run(sim, timeline.clock)

    assert sim.fleet_updates == []
    assert execution.appstream_calls("TagResource") == []
    assert subjects(execution) == [f"AppStream image ready: {new_image(execution)}"]
    assert execution.status == "SUCCEEDED"


def test_a_run_with_no_new_image_rolls_nothing_out(
    unattended: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    add_image(ROOT, updates_available=False)
    sim.add_fleet("Prod", image=ROOT, tags=follows("production"))

    execution = unattended.run(sim, timeline.clock)

    assert execution.invoked("rollout_plan") == []
    assert execution.appstream_calls("DescribeFleets") == []
    assert execution.status == "SUCCEEDED"


def test_rollback_puts_a_fleet_back_on_its_recorded_image(
    unattended: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given production was rolled out to by the updater
    prod_on_the_root(sim, add_image)
    sim.add_fleet("Untagged", image=ROOT)
    with unattended.account(sim) as account:
        execution = account.run(timeline.clock)
        built = new_image(execution)
        assert image_of(sim, "Prod") == built
        session = boto3.Session(region_name=REGION)
        out = io.StringIO()

        # When an admin rolls the fleet back with run-now
        table = account.deployment.ledger_table
        code = roll_back(session, "Prod", out, table=table)

        # Then it is on ImgA again, the record is gone, and the rollback was announced
        assert code == OK
        assert image_of(sim, "Prod") == ROOT
        assert PREVIOUS_IMAGE_TAG not in sim.fleet_tags("Prod")
        assert f"Fleet Prod: {built} -> {ROOT}" in out.getvalue()
        from rehearsal.runner import published_events

        assert published_events()[-1]["detail-type"] == events.FLEET_ROLLED_BACK
        # and a second rollback, or one of a fleet the updater never changed, is refused
        with pytest.raises(ToolError, match="no recorded previous image"):
            roll_back(session, "Prod", io.StringIO(), table=table)
        with pytest.raises(ToolError, match="is not tagged"):
            roll_back(session, "Untagged", io.StringIO(), table=table)


def after_canaries_updated(act: Any) -> Any:
    """An `on_invocation` listener that calls `act()` once the canaries got the image."""

    def listener(invocation: Any, _: timedelta) -> None:
        if isinstance(invocation.event, dict) and invocation.event.get("action") == (
            "update-canaries"
        ):
            act()

    return listener


def test_a_rewritten_rollback_tag_is_refused_and_the_canary_is_not_moved(
    rollout_runner: WorkflowRunner, fleets: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given an image shared into the account, and, during the soak, someone who may tag the
    # canary rewrites its PreviousImage tag to that image; then the canary's alarm fires
    planted = fleets.add_image(
        "Planted", visibility="SHARED", owner_account=SHARING_ACCOUNT, updates_available=False
    )
    set_alarm_state(fleets, ALARM, "ALARM")

    def rewrite() -> None:
        tags = fleets.fleet_tags("Canary")
        fleets.set_fleet_tags("Canary", {**tags, PREVIOUS_IMAGE_TAG: planted["Arn"]})

    # When the run rolls out the image and then rolls the unhealthy canary back
    execution = rollout_runner.run(
        fleets,
        timeline.clock,
        on_invocation=after_canaries_updated(rewrite),
        on_approval=approve_after(1),
    )

    # Then the canary was never put on the planted image (nor anywhere else): the updater's
    # record says ImgA, the tag disagrees, so the rollback is refused
    built = new_image(execution)
    assert fleets.fleet_updates == [("Canary", built)]
    assert image_of(fleets, "Canary") == built
    # and the e-mail says why, naming both images
    body = execution.emails[-1].body
    assert f"Canary (canary): not rolled back, left on {built}" in body
    assert planted["Arn"] in body and f"recorded '{ROOT}'" in body
    assert execution.status == "FAILED" and execution.error == "RolloutFailed"
    assert image_of(fleets, "ProdA") == ROOT  # production never moved


def refused_rollback(fleet: str, ledger_table: str) -> ToolError:
    """When an admin runs `make run-now ARGS="rollback --fleet <fleet>"`, which must refuse:
    what it refused with."""
    with pytest.raises(ToolError) as refused:
        roll_back(boto3.Session(region_name=REGION), fleet, io.StringIO(), table=ledger_table)
    return refused.value


def test_run_now_rollback_refuses_a_fleet_whose_tag_was_rewritten(
    unattended: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given production rolled out to, then its PreviousImage tag rewritten to a shared image
    add_image(ROOT, updates_available=True)
    planted = sim.add_image("Planted", visibility="SHARED", owner_account=SHARING_ACCOUNT)
    sim.add_fleet("Prod", image=ROOT, tags=follows("production"))
    with unattended.account(sim) as account:
        built = new_image(account.run(timeline.clock))
        sim.set_fleet_tags("Prod", {**sim.fleet_tags("Prod"), PREVIOUS_IMAGE_TAG: planted["Arn"]})

        # When an admin runs rollback
        refused = refused_rollback("Prod", account.deployment.ledger_table)

    # Then it is refused with its own exit code, and the fleet stays where it is
    assert refused.exit_code == TAMPERED
    assert "nothing was moved" in str(refused)
    assert image_of(sim, "Prod") == built
    assert sim.fleet_updates == [("Prod", built)]


def test_run_now_rollback_refuses_a_fleet_no_longer_on_the_image_the_updater_put_it_on(
    unattended: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given production rolled out to, then put on another image by hand (the record and its
    # mirror tags untouched: they still agree with each other)
    add_image(ROOT, updates_available=True)
    sim.add_image("Other", updates_available=False)
    sim.add_fleet("Prod", image=ROOT, tags=follows("production"))
    with unattended.account(sim) as account:
        built = new_image(account.run(timeline.clock))
        sim.set_fleet_image("Prod", "Other")

        # When an admin runs rollback
        refused = refused_rollback("Prod", account.deployment.ledger_table)

    # Then nothing moves: the updater's change (to the built image) is no longer on the fleet,
    # so there is nothing of the updater's to undo (as the canary's automatic rollback says)
    assert refused.exit_code == NOTHING_TO_DO
    assert f"runs Other, not {built}" in str(refused)
    assert image_of(sim, "Prod") == "Other"
    assert sim.fleet_updates == [("Prod", built)]


def test_a_canary_on_a_shared_image_is_rolled_back_to_it_by_arn(
    rollout_runner: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given a canary following ImgA that an admin put on an image another account shares
    # (by ARN, the only way AppStream finds it; DescribeFleets then shows its name and ARN),
    # and its alarm fires after the soak
    add_image(ROOT, updates_available=True)
    shared = sim.add_image("Partner", visibility="SHARED", owner_account=SHARING_ACCOUNT)
    sim.add_fleet("Canary", image=ROOT, tags=follows("canary"))
    with sim.active():
        admin = boto3.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
        admin.client("appstream").update_fleet(Name="Canary", ImageArn=shared["Arn"])
    assert sim.fleets["Canary"]["ImageName"] == "Partner"
    set_alarm_state(sim, ALARM, "ALARM")

    # When
    execution = rollout_runner.run(sim, timeline.clock, on_approval=approve_after(1))

    # Then the canary went to the new image and back to the shared one, by its ARN
    built = new_image(execution)
    assert sim.fleet_updates == [("Canary", "Partner"), ("Canary", built), ("Canary", "Partner")]
    assert sim.fleets["Canary"]["ImageArn"] == shared["Arn"]
    assert ROLLED_OUT_TAG not in sim.fleet_tags("Canary")
    update_fleets = execution.appstream_calls("UpdateFleet")
    assert update_fleets[-1].params == {"Name": "Canary", "ImageArn": shared["Arn"]}


def test_a_busy_fleet_is_retried_and_then_updated(
    unattended: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given AppStream answers ConcurrentModificationException to the first UpdateFleet
    prod_on_the_root(sim, add_image)
    sim.fail("UpdateFleet", "ConcurrentModificationException", calls=1)

    execution = unattended.run(sim, timeline.clock)

    # Then the step was retried after a wait, and the fleet updated once, its record intact
    built = new_image(execution)
    assert sim.fleet_updates == [("Prod", built)]
    assert sim.fleet_tags("Prod")[PREVIOUS_IMAGE_TAG] == ROOT
    assert execution.retry_waits
    assert execution.status == "SUCCEEDED"


def test_a_canary_appstream_refuses_puts_the_other_canaries_back(
    rollout_runner: WorkflowRunner, fleets: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given a second canary, and AppStream refusing the image for the first one
    fleets.add_fleet("Canary2", image=ROOT, tags=follows("canary"))
    fleets.fail(
        "UpdateFleet",
        "IncompatibleImageException",
        calls=1,
        message="The image can't be updated because it's not compatible for updates.",
        when=lambda params: params.get("Name") == "Canary",
    )

    execution = rollout_runner.run(fleets, timeline.clock, on_approval=approve_after(1))

    # Then the canary that took it is put back, nothing soaked, production untouched
    built = new_image(execution)
    assert fleets.fleet_updates == [("Canary2", built), ("Canary2", ROOT)]
    assert image_of(fleets, "Canary") == ROOT and image_of(fleets, "Canary2") == ROOT
    assert image_of(fleets, "ProdA") == ROOT
    assert states.SOAK_THE_CANARIES not in execution.states
    body = execution.emails[-1].body
    assert "Canary (canary): IncompatibleImageException" in body
    assert execution.error == "RolloutFailed"


def test_a_stopped_fleet_is_updated_directly(
    unattended: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    add_image(ROOT, updates_available=True)
    sim.add_fleet("Weekend", image=ROOT, state="STOPPED", tags=follows("production"))

    execution = unattended.run(sim, timeline.clock)

    assert sim.fleet_updates == [("Weekend", new_image(execution))]
    assert sim.fleets["Weekend"]["State"] == "STOPPED"  # the updater never starts or stops one


def test_an_approval_given_after_a_newer_image_never_moves_production_back(
    rollout_runner: WorkflowRunner, fleets: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given, while the roll-out waits for approval, a newer image of the lineage appears
    # (another run built it)
    def approve_late(request: ApprovalRequest) -> None:
        fleets.add_image(
            f"{ROOT}-20991231-000000",
            created_time=timeline.now().replace(year=2099),
            tags={"AppStreamImageUpdater:LineageRoot": ROOT},
        )
        approve_after(1)(request)

    execution = rollout_runner.run(fleets, timeline.clock, on_approval=approve_late)

    # Then the approved, older roll-out stops before production
    assert image_of(fleets, "ProdA") == ROOT and image_of(fleets, "ProdB") == ROOT
    assert subjects(execution)[-1] == f"AppStream roll-out superseded: {new_image(execution)}"
    assert execution.status == "SUCCEEDED"


def a_week_later_with_an_update_of(image: str, sim: SimulatedAppStream, timeline: Timeline) -> None:
    """Given the next run, 8 days later, with an update available for `image`."""
    sim.set_updates_available(image, True)
    timeline.next_run(after=timedelta(days=8))


def kept_as_prods_rollback_target(
    image: str, execution: Execution, sim: SimulatedAppStream
) -> None:
    """Then the run's retention kept `image` as production's rollback target, and it exists."""
    (retained,) = execution.invoked("retain")
    kept = {k["name"]: k["reason"] for k in retained.result["retention"]["kept"]}
    assert kept[image] == "rollback target of fleet Prod"
    assert image in sim.images and image not in sim.deleted


@pytest.mark.parametrize(
    "tags_removed", [False, True], ids=["recorded and tagged", "mirror tags removed"]
)
def test_retention_never_deletes_a_fleets_rollback_target(
    unattended: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    timeline: Timeline,
    tags_removed: bool,
) -> None:
    # Given keepImages=1 and production rolled out to by the updater twice: after the second
    # roll-out, the first new image is production's recorded previous image (and, in the
    # second case, someone then removed the rollback record's mirror tags from the fleet)
    prod_on_the_root(sim, add_image)
    with unattended.account(sim) as account:
        first = new_image(account.run(timeline.clock))
        a_week_later_with_an_update_of(first, sim, timeline)
        account.use_clock(timeline.clock)
        second_run = account.run(timeline.clock)
        second = new_image(second_run)
        assert image_of(sim, "Prod") == second
        assert sim.fleet_tags("Prod")[PREVIOUS_IMAGE_TAG] == first
        if tags_removed:
            sim.set_fleet_tags("Prod", follows("production"))
        a_week_later_with_an_update_of(second, sim, timeline)
        third_run = account.run(timeline.clock)

    # Then the third run's retention kept the first image, production's rollback target
    # (it was neither in use nor among the newest keepImages=1; the ledger's record protects
    # it whatever the tags say), and it still exists
    kept_as_prods_rollback_target(first, third_run, sim)
    assert second_run.status == third_run.status == "SUCCEEDED"


def test_a_window_too_far_away_stops_before_production(
    sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given a window that next starts in two years, far beyond what the run may wait
    far = rollout_workflow(
        requireApproval="false",
        allowUntestedProduction="true",
        rolloutWindow=f"cron(0 0 1 1 ? {timeline.now().year + 2})",
    )
    prod_on_the_root(sim, add_image)

    execution = far.run(sim, timeline.clock)

    # Then production is untouched, and the e-mail says why
    assert sim.fleet_updates == []
    assert states.WAIT_FOR_THE_WINDOW not in execution.states
    assert subjects(execution)[-1] == f"AppStream roll-out FAILED: {new_image(execution)}"
    assert "more than 32 days away" in execution.emails[-1].body
    assert execution.error == "RolloutFailed"


def test_a_failed_step_still_e_mails_the_fleets_it_changed_before_it_failed(
    unattended: WorkflowRunner, sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given ProdA takes the image and ProdB stays busy through every retry
    add_image(ROOT, updates_available=True)
    sim.add_fleet("ProdA", image=ROOT, tags=follows("production"))
    sim.add_fleet("ProdB", image=ROOT, tags=follows("production"))
    sim.fail(
        "UpdateFleet",
        "ConcurrentModificationException",
        calls=None,
        when=lambda params: params.get("Name") == "ProdB",
    )

    execution = unattended.run(sim, timeline.clock)

    # Then the failure e-mail names ProdA as on the new image (its change is not in the state
    # the step failed with: the report read the fleets again), with how to put it back
    built = new_image(execution)
    assert image_of(sim, "ProdA") == built and image_of(sim, "ProdB") == ROOT
    body = execution.emails[-1].body
    assert subjects(execution)[-1] == f"AppStream roll-out FAILED: {built}"
    assert f"Fleets of this lineage on the new image now:\n  - ProdA: {ROOT} -> {built}" in body
    assert "ProdB:" not in body.split("Fleets of this lineage")[1].split("\n\n")[0]
    assert execution.error == "RolloutFailed"
