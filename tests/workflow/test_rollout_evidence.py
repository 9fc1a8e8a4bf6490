"""The roll-out's promises of issue 16, through the synthesized state machine: production only
after evidence (a canary that cannot test the image holds it back; no canary means held back
unless a person approves, told it is untested, or allowUntestedProduction), health as evidence
(no instance proves nothing; a dip is checked again; a newer image's roll-out supersedes), the
approved production set fixed, and tags matched exactly as IAM matches them."""

from __future__ import annotations

from typing import Any

import pytest

from image_updater.handlers import rollout_fleets
from image_updater.rollout.health_policy import DIP_RECHECK_MINUTES, DIP_RECHECKS
from image_updater.rollout.models import FOLLOWS_TAG, STAGE_TAG, Rollout
from infra.workflow import states
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import Execution, Invocation, LambdaContext, WorkflowRunner, set_alarm_state
from tests.workflow.conftest import (
    ALARM,
    ROOT,
    AddImage,
    Timeline,
    follows,
    prod_on_the_root,
    rollout_workflow,
)
from tests.workflow.test_rollout import approve_after, image_of, new_image, subjects

HELD_BACK_SUBJECT = "AppStream roll-out HELD BACK: {}"


def held_back(execution: Execution) -> str:
    """The run's last e-mail says its new image is held back, and the run is not a failure
    (the image is fine, the fleets wait for a fix): that e-mail's body."""
    assert subjects(execution)[-1] == HELD_BACK_SUBJECT.format(new_image(execution))
    assert execution.status == "SUCCEEDED"
    return execution.emails[-1].body


@pytest.fixture(scope="session")
def no_canary_runner() -> WorkflowRunner:
    """No approval, production at once, allowUntestedProduction left at its default."""
    return rollout_workflow(
        canarySoakHours="0", requireApproval="false", rolloutWindow="immediately"
    )


# --- 1. production only after evidence -------------------------------------------------------


@pytest.mark.parametrize(
    ("canary", "why"),
    [
        ({"state": "STARTING"}, "the canary is STARTING: only a RUNNING canary"),
        ({"state": "STOPPING"}, "the canary is STOPPING: only a RUNNING canary"),
        ({"state": "STOPPED"}, "the canary is STOPPED: only a RUNNING canary"),
        ({"fleet_type": "ELASTIC", "image": None}, "an Elastic fleet runs app blocks"),
        ({"platform": "WINDOWS_SERVER_2019"}, "differs from the canary's WINDOWS_SERVER_2019"),
    ],
    ids=["starting", "stopping", "stopped", "elastic", "other platform"],
)
def test_a_canary_that_cannot_test_the_image_holds_production_back(
    unattended: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    timeline: Timeline,
    canary: dict[str, Any],
    why: str,
) -> None:
    # Given a canary that cannot take the image now, and a production fleet, in a deployment
    # that lets production go untested (allowUntestedProduction=true, no approval)
    add_image(ROOT, updates_available=True)
    sim.add_fleet("Canary", **{"image": ROOT, **canary}, tags=follows("canary"))
    sim.add_fleet("Prod", image=ROOT, tags=follows("production"))

    # When the run builds an image
    execution = unattended.run(sim, timeline.clock)

    # Then no fleet changed, and the e-mail says which canary, why, and what to do
    assert sim.fleet_updates == []
    assert image_of(sim, "Prod") == ROOT
    body = held_back(execution)
    assert "Canary fleets that cannot test it:\n  - Canary (canary): " in body
    assert why in body
    assert "What to do: make each canary able to take the image" in body
    assert "Production fleets left as they are:\n  - Prod (production)" in body


def test_a_held_back_roll_out_asks_nobody_to_approve(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
) -> None:
    # Given the canary is STARTING when the roll-out is planned (approval required)
    fleets.set_fleet_health("Canary", state="STARTING", running=0)

    # When
    execution = rollout_runner.run(fleets, timeline.clock, on_approval=approve_after(1))

    # Then production is untouched and no approval was asked for (nothing was tested)
    assert fleets.fleet_updates == []
    assert execution.approvals == []
    assert not any("No canary fleet follows this lineage" in e.body for e in execution.emails)
    held_back(execution)


def test_a_canary_already_on_the_image_still_soaks_and_must_pass_the_check(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
) -> None:
    # Given the canary is put on the new image (by hand) as soon as it is AVAILABLE, before
    # the roll-out plans, and its alarm fires after the soak
    def canary_takes_it_first(invocation: Invocation, _elapsed: Any) -> None:
        if invocation.step != "poll":
            return
        built = [
            c.params["newImageName"] for c in fleets.calls if c.operation == "CreateUpdatedImage"
        ]
        if built and fleets.images[built[-1]]["State"] == "AVAILABLE":
            fleets.set_fleet_image("Canary", built[-1])

    set_alarm_state(fleets, ALARM, "ALARM")

    execution = rollout_runner.run(
        fleets, timeline.clock, on_invocation=canary_takes_it_first, on_approval=approve_after(1)
    )

    # Then it soaked and was checked like any canary, and failed: production never moved
    built = new_image(execution)
    assert image_of(fleets, "Canary") == built
    assert states.SOAK_THE_CANARIES in execution.states
    assert len(execution.invoked("rollout_health")) == 1
    assert image_of(fleets, "ProdA") == ROOT and image_of(fleets, "ProdB") == ROOT
    assert execution.approvals == []
    assert "alarm CanaryErrors: ALARM" in execution.emails[-1].body
    # and the e-mail does not claim a rollback this roll-out had nothing to do
    assert subjects(execution)[-1] == f"AppStream canary UNHEALTHY: {built}"


def test_without_a_canary_production_is_held_back_by_default(
    no_canary_runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    timeline: Timeline,
) -> None:
    # Given production fleets only, no approval, allowUntestedProduction at its default
    prod_on_the_root(sim, add_image)

    # When
    execution = no_canary_runner.run(sim, timeline.clock)

    # Then production is untouched and the e-mail says why and what to do
    assert sim.fleet_updates == []
    body = held_back(execution)
    assert "No canary fleet is tagged for this lineage" in body
    assert "-c allowUntestedProduction=true" in body


def test_without_a_canary_the_approval_e_mail_says_the_image_is_untested(
    rollout_runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    timeline: Timeline,
) -> None:
    # Given production fleets only, approval required
    prod_on_the_root(sim, add_image)
    set_alarm_state(sim, ALARM, "OK")

    # When an admin approves after reading the request
    execution = rollout_runner.run(sim, timeline.clock, on_approval=approve_after(1))

    # Then the request said, in so many words, that nothing tested the image
    built = new_image(execution)
    request = next(e.body for e in execution.emails if e.subject.startswith("Approval needed"))
    assert "UNTESTED: no canary fleet is tagged for this lineage, so no canary ran this" in (
        request
    )
    assert "If you approve, production gets it untested." in request
    # and production followed the approval
    assert image_of(sim, "Prod") == built


# --- 2. health is evidence -------------------------------------------------------------------


def test_a_canary_with_no_capacity_tested_nothing(
    rollout_runner: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    timeline: Timeline,
) -> None:
    # Given a RUNNING canary with desired and running capacity 0
    add_image(ROOT, updates_available=True)
    sim.add_fleet("Canary", image=ROOT, desired=0, tags=follows("canary"))
    sim.add_fleet("Prod", image=ROOT, tags=follows("production"))
    set_alarm_state(sim, ALARM, "OK")

    # When
    execution = rollout_runner.run(sim, timeline.clock, on_approval=approve_after(1))

    # Then it counts against, at once (no re-check): rolled back, production untouched
    assert image_of(sim, "Canary") == ROOT and image_of(sim, "Prod") == ROOT
    assert execution.approvals == []
    assert len(execution.invoked("rollout_health")) == 1
    assert "Canary: desired and running capacity are 0" in execution.emails[-1].body
    assert execution.status == "FAILED"


def _recovers_after_first_check(sim: SimulatedAppStream) -> Any:
    """After the canaries' first check, the canary runs its desired instance again."""

    def listener(invocation: Invocation, _elapsed: Any) -> None:
        if invocation.step == "rollout_health":
            sim.set_fleet_health("Canary", running=1)

    return listener


def test_a_dip_below_desired_that_recovers_is_healthy(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
) -> None:
    # Given the canary runs 0 of its 1 desired instance at the first check (its instance
    # being replaced), and 1 again minutes later
    fleets.set_fleet_health("Canary", running=0)

    # When
    execution = rollout_runner.run(
        fleets,
        timeline.clock,
        on_invocation=_recovers_after_first_check(fleets),
        on_approval=approve_after(1),
    )

    # Then it was checked again after a short wait, found healthy, and production followed
    built = new_image(execution)
    assert len(execution.invoked("rollout_health")) == 2
    assert execution.waits.count(DIP_RECHECK_MINUTES * 60) == 1
    assert states.WAIT_TO_CHECK_AGAIN in execution.states
    assert image_of(fleets, "ProdA") == built
    assert execution.status == "SUCCEEDED"


def test_running_below_desired_that_stays_low_is_unhealthy(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
) -> None:
    # Given the canary runs 0 of its 1 desired instance, and stays so
    fleets.set_fleet_health("Canary", running=0)

    # When
    execution = rollout_runner.run(fleets, timeline.clock, on_approval=approve_after(1))

    # Then it was checked DIP_RECHECKS more times, minutes apart, then rolled back
    assert len(execution.invoked("rollout_health")) == 1 + DIP_RECHECKS
    assert execution.waits.count(DIP_RECHECK_MINUTES * 60) == DIP_RECHECKS
    assert image_of(fleets, "Canary") == ROOT
    assert image_of(fleets, "ProdA") == ROOT
    assert "Canary: 0 of 1 desired instances running" in execution.emails[-1].body
    assert execution.approvals == []
    assert execution.status == "FAILED"


def test_a_canary_moved_on_by_a_newer_images_roll_out_supersedes_this_one(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
) -> None:
    # Given, while this image's canary soaks, a newer image of the lineage is built and its
    # own roll-out puts the canary on it (the real canary step, with its record)
    newer = f"{ROOT}-20991231-000000"

    def newer_roll_out(invocation: Invocation, _elapsed: Any) -> None:
        if invocation.step != "rollout_fleets" or invocation.event.get("action") != (
            rollout_fleets.UPDATE_CANARIES
        ):
            return
        made = fleets.add_image(
            newer,
            created_time=timeline.now().replace(year=2099),
            tags={"AppStreamImageUpdater:LineageRoot": ROOT},
        )
        other = Rollout(
            root_image_name=ROOT,
            execution_id="arn:aws:states:us-east-1:123456789012:execution:Updater:newer",
            new_image_name=newer,
            new_image_arn=made["Arn"],
            canaries=("Canary",),
        )
        rollout_fleets.handler(
            {"task": other.to_event(), "action": rollout_fleets.UPDATE_CANARIES},
            LambdaContext("newer-roll-out"),
        )

    # When
    execution = rollout_runner.run(
        fleets, timeline.clock, on_invocation=newer_roll_out, on_approval=approve_after(1)
    )

    # Then the older roll-out ends as superseded: no rollback, production untouched, not FAILED
    built = new_image(execution)
    assert fleets.fleet_updates == [("Canary", built), ("Canary", newer)]
    assert image_of(fleets, "Canary") == newer
    assert image_of(fleets, "ProdA") == ROOT and image_of(fleets, "ProdB") == ROOT
    assert states.ROLL_BACK_THE_CANARIES not in execution.states
    assert subjects(execution)[-1] == f"AppStream roll-out superseded: {built}"
    assert not any("UNHEALTHY" in subject for subject in subjects(execution))
    assert f"Canary (canary): moved to {newer}, a newer image of the lineage" in (
        execution.emails[-1].body
    )
    assert "rollback --fleet Canary" not in execution.emails[-1].body
    assert execution.status == "SUCCEEDED"


# --- 3. the approved set is fixed ------------------------------------------------------------


def test_production_changes_only_the_fleets_named_in_the_approval(
    rollout_runner: WorkflowRunner,
    fleets: SimulatedAppStream,
    timeline: Timeline,
) -> None:
    # Given, while the approval waits, ProdB is untagged and ProdLate tagged for production
    def retag_then_approve(request: Any) -> None:
        fleets.set_fleet_tags("ProdB", {})
        fleets.add_fleet("ProdLate", image=ROOT, tags=follows("production"))
        approve_after(1)(request)

    # When
    execution = rollout_runner.run(fleets, timeline.clock, on_approval=retag_then_approve)

    # Then only ProdA (approved, still tagged) changed
    built = new_image(execution)
    assert [fleet for fleet, _ in fleets.fleet_updates] == ["Canary", "ProdA"]
    assert image_of(fleets, "ProdB") == ROOT and image_of(fleets, "ProdLate") == ROOT
    # and the e-mails said which fleets were approved, and why ProdLate waits
    request = next(e.body for e in execution.emails if e.subject.startswith("Approval needed"))
    assert "waits for the next approved roll-out): ProdA, ProdB" in request
    done = execution.emails[-1].body
    assert subjects(execution)[-1] == f"AppStream production fleets updated: {built}"
    assert (
        "ProdLate (production): tagged after the approval: waits for the next approved roll-out"
    ) in done
    assert "ProdB (production): no longer tagged for production: left as it is" in done
    assert execution.status == "SUCCEEDED"


# --- 6. tag hygiene --------------------------------------------------------------------------


def test_a_tag_iam_would_not_match_skips_that_fleet_and_the_others_go_on(
    unattended: WorkflowRunner,
    sim: SimulatedAppStream,
    add_image: AddImage,
    timeline: Timeline,
) -> None:
    # Given a well-tagged production fleet, one whose image tag has a stray space, one whose
    # image tag differs in case, and one whose stage tag is capitalised
    prod_on_the_root(sim, add_image)
    sim.add_fleet("Spaced", image=ROOT, tags={FOLLOWS_TAG: f"{ROOT} ", STAGE_TAG: "production"})
    sim.add_fleet("Cased", image=ROOT, tags={FOLLOWS_TAG: ROOT.lower(), STAGE_TAG: "production"})
    sim.add_fleet("Staged", image=ROOT, tags={FOLLOWS_TAG: ROOT, STAGE_TAG: "Production"})

    # When
    execution = unattended.run(sim, timeline.clock)

    # Then only the well-tagged fleet changed (IAM's StringEquals would deny the others'
    # UpdateFleet), and the e-mail says why each other one was skipped
    built = new_image(execution)
    assert sim.fleet_updates == [("Prod", built)]
    body = execution.emails[-1].body
    assert f"Spaced (production): its tag {FOLLOWS_TAG} is '{ROOT} ', not exactly '{ROOT}'" in (
        body
    )
    assert f"Cased (production): its tag {FOLLOWS_TAG} is '{ROOT.lower()}'" in body
    assert f"Staged (production): its tag {STAGE_TAG} is 'Production', not exactly" in body
    assert execution.status == "SUCCEEDED"
