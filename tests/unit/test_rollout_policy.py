"""The roll-out's pure rules: which fleets follow a lineage and take its new image, whether the
canaries are healthy after their soak, which fleets production means once approved; and the
roll-out's record as the workflow carries it from step to step."""

from __future__ import annotations

from typing import Any

import pytest

from image_updater.errors import InvalidExecutionInput
from image_updater.models import ImageSummary
from image_updater.rollout.health_policy import canary_health, canary_problems
from image_updater.rollout.models import (
    CANARY,
    FOLLOWS_TAG,
    PRODUCTION,
    STAGE_TAG,
    FleetFacts,
    FleetNote,
    Rollout,
)
from image_updater.rollout.outcomes import CANARY_FIRST
from image_updater.rollout.policy import (
    approved_production,
    follows,
    plan_fleets,
    refusal,
)
from tests.unit.rollout_facts import ARNS, NEW, OLD, ROOT

IMAGE = ImageSummary(
    name=NEW, arn=f"{ARNS}:image/{NEW}", state="AVAILABLE", platform="WINDOWS_SERVER_2022"
)
ALL_FINE = {"CanaryErrors": "OK"}


def fleet(
    name: str = "Fleet",
    *,
    stage: str | None = CANARY,
    root: str | None = ROOT,
    image: str | None = OLD,
    image_arn: str | None = None,
    state: str = "RUNNING",
    fleet_type: str = "ALWAYS_ON",
    platform: str | None = "WINDOWS_SERVER_2022",
    desired: int | None = 2,
    running: int | None = 2,
    errors: tuple[str, ...] = (),
    tags: dict[str, str] | None = None,
) -> FleetFacts:
    """A fleet as the roll-out reads it; by default a healthy canary of ImgA's lineage on OLD."""
    given = dict(tags or {})
    if root is not None:
        given.setdefault(FOLLOWS_TAG, root)
    if stage is not None:
        given.setdefault(STAGE_TAG, stage)
    return FleetFacts(
        name=name,
        arn=f"{ARNS}:fleet/{name}",
        fleet_type=fleet_type,
        state=state,
        platform=platform,
        image_name=image,
        image_arn=image_arn,
        desired=desired,
        running=running,
        errors=errors,
        max_sessions_per_instance=None,
        tags=given,
    )


def on_new(name: str = "Canary", **overrides: Any) -> FleetFacts:
    """A canary now running the new image (as after its update)."""
    return fleet(name, image=NEW, image_arn=IMAGE.arn, **overrides)


# --- which fleets follow a lineage ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({FOLLOWS_TAG: ROOT}, True),
        ({FOLLOWS_TAG: f"  {ROOT}\t"}, False),
        ({FOLLOWS_TAG: "ImgB"}, False),
        ({FOLLOWS_TAG: f"{ROOT}-20260501-030000"}, False),
        ({FOLLOWS_TAG: ""}, False),
        ({}, False),
        ({"Image": ROOT, STAGE_TAG: CANARY}, False),
    ],
    ids=[
        "the root",
        "the root with whitespace",
        "another root",
        "an image of the lineage, not its root",
        "empty",
        "no tag",
        "a look-alike key",
    ],
)
def test_a_fleet_follows_only_when_its_image_tag_names_the_root(
    tags: dict[str, str], expected: bool
) -> None:
    # Given a fleet with these tags only
    facts = fleet(root=None, stage=None, tags=tags)

    # When / Then
    assert follows(facts, ROOT) is expected


def test_fleets_of_other_lineages_and_untagged_fleets_are_not_even_passed_over() -> None:
    # Given a canary of another lineage and a fleet without the updater's tags
    fleets = [fleet("Other", root="ImgB"), fleet("Untagged", root=None, stage=None)]

    # When
    plan = plan_fleets(ROOT, IMAGE, fleets)

    # Then they are none of the roll-out's business: not even reported
    assert (plan.canaries, plan.production, plan.passed_over) == ((), (), ())
    assert not plan.any_follower


@pytest.mark.parametrize(
    ("stage", "planned_as"),
    [("canary", CANARY), ("production", PRODUCTION)],
)
def test_the_stage_tag_is_read_exactly(stage: str, planned_as: str) -> None:
    # Given a following fleet with this stage tag
    facts = fleet("F", stage=stage)

    # When
    plan = plan_fleets(ROOT, IMAGE, [facts])

    # Then
    expected = (("F",), ()) if planned_as == CANARY else ((), ("F",))
    assert (plan.canaries, plan.production) == expected
    assert plan.passed_over == plan.held_back == ()


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        ({FOLLOWS_TAG: f" {ROOT}", STAGE_TAG: PRODUCTION}, f"is ' {ROOT}', not exactly '{ROOT}'"),
        ({FOLLOWS_TAG: ROOT.lower(), STAGE_TAG: PRODUCTION}, "not exactly 'ImgA'"),
        ({FOLLOWS_TAG: ROOT, STAGE_TAG: "Production"}, "'Production', not exactly 'production'"),
        ({FOLLOWS_TAG: ROOT, STAGE_TAG: "production\n"}, "not exactly 'production'"),
    ],
    ids=["image tag with a space", "image tag in other case", "stage in capitals", "stage+LF"],
)
def test_a_production_tag_iam_would_not_match_skips_that_fleet_only(
    tags: dict[str, str], why: str
) -> None:
    # Given a production fleet whose tag matches only loosely, and a well-tagged one
    fleets = [fleet("Loose", root=None, stage=None, tags=tags), fleet("Prod", stage=PRODUCTION)]

    # When
    plan = plan_fleets(ROOT, IMAGE, fleets)

    # Then the loose one is passed over with the reason, the other goes on
    assert plan.production == ("Prod",)
    (note,) = plan.passed_over
    assert (note.fleet, note.stage) == ("Loose", PRODUCTION)
    assert why in (note.note or "")
    assert plan.held_back == ()


def test_a_canary_tag_iam_would_not_match_holds_the_roll_out_back() -> None:
    # Given a canary whose stage tag is " Canary " and a production fleet
    fleets = [fleet("Canary", stage=" Canary "), fleet("Prod", stage=PRODUCTION)]

    # When
    plan = plan_fleets(ROOT, IMAGE, fleets)

    # Then the canary cannot test the image: it holds the roll-out back, with the reason
    (note,) = plan.held_back
    assert (note.fleet, note.stage) == ("Canary", CANARY)
    assert "not exactly 'canary'" in (note.note or "")
    assert plan.canaries == ()


@pytest.mark.parametrize(
    ("stage", "read_as"),
    [("prod", "prod"), ("test", "test"), ("canary,production", "canary,production"), ("", None)],
)
def test_an_unknown_stage_is_passed_over_with_the_reason(stage: str, read_as: str | None) -> None:
    # Given a fleet that follows the lineage with a stage that is neither canary nor production
    facts = fleet("F", stage=stage)

    # When
    plan = plan_fleets(ROOT, IMAGE, [facts])

    # Then it is reported as passed over, saying what its tag said
    assert (plan.canaries, plan.production) == ((), ())
    (note,) = plan.passed_over
    assert (note.fleet, note.stage) == ("F", read_as)
    assert note.note == (
        f"its tag AppStreamImageUpdater:Stage is {read_as!r}, not canary or production"
    )


def test_a_following_fleet_without_a_stage_tag_is_passed_over() -> None:
    # Given
    facts = fleet("F", stage=None)

    # When
    plan = plan_fleets(ROOT, IMAGE, [facts])

    # Then
    (note,) = plan.passed_over
    assert (note.fleet, note.stage) == ("F", None)
    assert "not canary or production" in (note.note or "")


# --- which following fleets can take the image ----------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (
            fleet("F", stage=PRODUCTION, fleet_type="ELASTIC", image=None),
            "Elastic fleets run app blocks, not images: skipped",
        ),
        (fleet("F", stage=PRODUCTION, image=NEW), "already on this image"),
        (
            fleet("F", stage=PRODUCTION, image=None, image_arn=IMAGE.arn),
            "already on this image",
        ),
        (
            fleet("F", stage=PRODUCTION, state="STARTING"),
            "the fleet is STARTING; AppStream updates only RUNNING or STOPPED fleets",
        ),
        (
            fleet("F", stage=PRODUCTION, state="STOPPING"),
            "the fleet is STOPPING; AppStream updates only RUNNING or STOPPED fleets",
        ),
    ],
    ids=["elastic", "on the image by name", "on the image by ARN", "starting", "stopping"],
)
def test_a_production_fleet_that_cannot_take_the_image_is_passed_over_with_the_reason(
    facts: FleetFacts, reason: str
) -> None:
    # When
    plan = plan_fleets(ROOT, IMAGE, [facts])

    # Then
    assert (plan.canaries, plan.production, plan.held_back) == ((), (), ())
    assert plan.passed_over == (FleetNote("F", PRODUCTION, reason),)


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (fleet("F", fleet_type="ELASTIC", image=None), "an Elastic fleet runs app blocks"),
        (fleet("F", state="STARTING"), "the canary is STARTING: only a RUNNING canary"),
        (fleet("F", state="STOPPING"), "the canary is STOPPING: only a RUNNING canary"),
        (fleet("F", state="STOPPED", running=0), "the canary is STOPPED: only a RUNNING"),
        (fleet("F", platform="WINDOWS_SERVER_2019"), "differs from the canary's"),
    ],
    ids=["elastic", "starting", "stopping", "stopped", "another platform"],
)
def test_a_canary_that_cannot_test_the_image_holds_the_roll_out_back(
    facts: FleetFacts, reason: str
) -> None:
    # Given that canary and a production fleet that could take the image
    fleets = [facts, fleet("Prod", stage=PRODUCTION)]

    # When
    plan = plan_fleets(ROOT, IMAGE, fleets)

    # Then the canary is held back with the reason (production is still planned: the service
    # decides that a held-back canary stops the whole roll-out)
    (note,) = plan.held_back
    assert (note.fleet, note.stage) == ("F", CANARY)
    assert reason in (note.note or "")
    assert plan.canaries == ()


@pytest.mark.parametrize(
    "facts",
    [fleet("F", image=NEW), fleet("F", image=None, image_arn=IMAGE.arn)],
    ids=["by name", "by ARN"],
)
def test_a_canary_already_on_the_image_is_still_a_canary(facts: FleetFacts) -> None:
    # When
    plan = plan_fleets(ROOT, IMAGE, [facts])

    # Then it soaks and is checked like the others
    assert plan.canaries == ("F",)
    assert plan.passed_over == plan.held_back == ()


def test_a_fleet_on_another_platform_is_refused_for_the_updater_never_stops_a_fleet() -> None:
    # Given a Windows Server 2019 fleet, RUNNING, and an image of Windows Server 2022
    facts = fleet("F", stage=PRODUCTION, platform="WINDOWS_SERVER_2019")

    # When
    plan = plan_fleets(ROOT, IMAGE, [facts])

    # Then
    assert plan.production == ()
    (note,) = plan.passed_over
    assert note.fleet == "F"
    assert "WINDOWS_SERVER_2022 differs from the fleet's WINDOWS_SERVER_2019" in (note.note or "")
    assert "never stops a fleet" in (note.note or "")


@pytest.mark.parametrize(
    "facts",
    [
        fleet("F", stage=PRODUCTION, state="STOPPED", running=0),
        fleet("F", stage=PRODUCTION, platform=None),
        fleet("F", stage=PRODUCTION, image=None),
    ],
    ids=["stopped, same platform", "fleet platform unknown", "fleet without an image"],
)
def test_a_fleet_that_can_take_the_image_is_planned(facts: FleetFacts) -> None:
    # When
    plan = plan_fleets(ROOT, IMAGE, [facts])

    # Then
    assert plan.production == ("F",)
    assert plan.passed_over == ()
    assert refusal(facts, IMAGE) is None


def test_an_image_of_unknown_platform_is_not_refused_for_its_platform() -> None:
    # Given an image whose platform AppStream did not report
    image = IMAGE._replace(platform=None)

    # When / Then
    assert refusal(fleet("F", platform="AMAZON_LINUX2"), image) is None


def test_a_fleet_on_the_new_image_by_name_is_not_fooled_by_another_images_arn() -> None:
    # Given a fleet whose ARN is of another image, and whose name is OLD
    facts = fleet("F", image=OLD, image_arn=f"{ARNS}:image/{OLD}")

    # When / Then: it does not run the new image, so it takes it
    assert refusal(facts, IMAGE) is None


def test_elastic_is_said_before_anything_else() -> None:
    # Given an Elastic fleet that is also STARTING
    facts = fleet("F", fleet_type="ELASTIC", image=None, state="STARTING")

    # When / Then
    assert refusal(facts, IMAGE) == "Elastic fleets run app blocks, not images: skipped"


def test_the_plan_lists_every_group_sorted_by_fleet_name() -> None:
    # Given fleets in no particular order
    fleets = [
        fleet("Zeta", stage=PRODUCTION),
        fleet("beta", stage=CANARY),
        fleet("Alpha", stage=CANARY),
        fleet("Mid", stage=PRODUCTION),
        fleet("Stuck", stage=PRODUCTION, state="STOPPING"),
        fleet("Odd", stage="qa"),
    ]

    # When
    plan = plan_fleets(ROOT, IMAGE, fleets)

    # Then each group is in name order (code-point order: upper case first)
    assert plan.canaries == ("Alpha", "beta")
    assert plan.production == ("Mid", "Zeta")
    assert [n.fleet for n in plan.passed_over] == ["Odd", "Stuck"]
    assert plan.any_follower


# --- the canaries' health -------------------------------------------------------------------------


def test_healthy_canaries_with_an_ok_alarm_have_no_problem() -> None:
    # Given two canaries running the image at full capacity, and the alarm OK
    canaries = [on_new("CanaryA"), on_new("CanaryB")]

    # When
    problems = canary_problems(canaries, ["CanaryA", "CanaryB"], IMAGE, ALL_FINE)

    # Then
    assert problems == []


def test_a_canary_that_no_longer_exists_is_a_problem() -> None:
    # Given CanaryB was deleted during the soak
    problems = canary_problems([on_new("CanaryA")], ["CanaryA", "CanaryB"], IMAGE, ALL_FINE)

    # Then
    assert problems == ["CanaryB: the fleet no longer exists"]


def test_a_canary_moved_to_another_image_is_a_problem_and_nothing_else_is_said_of_it() -> None:
    # Given someone put the canary back on OLD during the soak, and it is STOPPED, with errors
    moved = fleet("Canary", image=OLD, state="STOPPED", running=0, errors=("X: y",))

    # When
    problems = canary_problems([moved], ["Canary"], IMAGE, ALL_FINE)

    # Then the one problem is that it moved; it is left as it is (not rolled back)
    assert problems == [f"Canary: now on {OLD}, not {NEW} (changed by someone else; left as it is)"]


def test_a_canary_without_any_image_now_says_so() -> None:
    # Given
    moved = fleet("Canary", image=None, image_arn=None)

    # When
    problems = canary_problems([moved], ["Canary"], IMAGE, {})

    # Then
    assert problems == [
        f"Canary: now on no image, not {NEW} (changed by someone else; left as it is)"
    ]


def test_a_canary_on_the_image_by_arn_only_is_on_it() -> None:
    # Given the canary's image is given by ARN only
    canary = fleet("Canary", image=None, image_arn=IMAGE.arn)

    # When / Then
    assert canary_problems([canary], ["Canary"], IMAGE, {}) == []


@pytest.mark.parametrize("state", ["STOPPED", "STOPPING", "STARTING"])
def test_a_canary_that_is_not_running_tested_nothing(state: str) -> None:
    # Given
    canary = on_new(state=state, running=0, desired=0)

    # When
    problems = canary_problems([canary], ["Canary"], IMAGE, {})

    # Then
    assert problems == [
        f"Canary: the fleet is {state}, so it tested nothing",
        "Canary: desired and running capacity are 0, so it ran no instance of the image and "
        "tested nothing",
    ]


def test_each_fleet_error_is_a_problem() -> None:
    # Given
    canary = on_new(errors=("IAM_SERVICE_ROLE_IS_MISSING: gone", "INTERNAL_SERVICE_ERROR: oops"))

    # When
    problems = canary_problems([canary], ["Canary"], IMAGE, {})

    # Then
    assert problems == [
        "Canary: IAM_SERVICE_ROLE_IS_MISSING: gone",
        "Canary: INTERNAL_SERVICE_ERROR: oops",
    ]


@pytest.mark.parametrize(
    ("running", "problem"),
    [
        (1, "Canary: 1 of 2 desired instances running"),
        (None, "Canary: 0 of 2 desired instances running"),
    ],
)
def test_fewer_running_instances_than_desired_is_a_problem(
    running: int | None, problem: str
) -> None:
    # Given
    canary = on_new(desired=2, running=running)

    # When / Then
    assert canary_problems([canary], ["Canary"], IMAGE, {}) == [problem]


@pytest.mark.parametrize(("desired", "running"), [(2, 3), (None, 1)])
def test_unknown_desired_capacity_or_more_than_desired_is_fine(
    desired: int | None, running: int | None
) -> None:
    # Given
    canary = on_new(desired=desired, running=running)

    # When / Then
    assert canary_problems([canary], ["Canary"], IMAGE, {}) == []


@pytest.mark.parametrize(("desired", "running"), [(0, 0), (None, 0), (None, None)])
def test_a_canary_that_runs_no_instance_tested_nothing(
    desired: int | None, running: int | None
) -> None:
    # Given a RUNNING canary on the image with no instance (and none desired)
    canary = on_new(desired=desired, running=running)

    # When
    health = canary_health([canary], ["Canary"], IMAGE, {})

    # Then it counts against, and at once: nothing will start by waiting
    assert health.problems == (
        "Canary: desired and running capacity are 0, so it ran no instance of the image and "
        "tested nothing",
    )
    assert not health.only_dips


def test_running_below_desired_alone_is_a_dip_to_check_again() -> None:
    # Given one canary short of capacity, the other fine
    health = canary_health(
        [on_new("A", desired=2, running=1), on_new("B")], ["A", "B"], IMAGE, ALL_FINE
    )

    # Then it is a problem, but only a dip (checked again before it counts)
    assert health.problems == ("A: 1 of 2 desired instances running",)
    assert health.only_dips


def test_a_dip_with_any_other_problem_is_no_mere_dip() -> None:
    health = canary_health(
        [on_new("A", desired=2, running=1)], ["A"], IMAGE, {"CanaryErrors": "ALARM"}
    )

    assert not health.only_dips


def test_no_canary_at_all_is_no_evidence() -> None:
    assert canary_health([], [], IMAGE, {}).problems == (
        "no canary ran the image, so nothing tested it",
    )


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        (None, "alarm CanaryErrors: no such metric alarm"),
        ("INSUFFICIENT_DATA", "alarm CanaryErrors: INSUFFICIENT_DATA"),
        ("ALARM", "alarm CanaryErrors: ALARM"),
    ],
)
def test_an_alarm_that_is_not_ok_is_a_problem_even_with_healthy_fleets(
    state: str | None, problem: str
) -> None:
    # Given a healthy canary, an OK alarm and the alarm under test
    alarms = {"Latency": "OK", "CanaryErrors": state}

    # When
    problems = canary_problems([on_new()], ["Canary"], IMAGE, alarms)

    # Then only the alarm under test is a problem
    assert problems == [problem]


def test_every_problem_of_every_canary_is_listed() -> None:
    # Given a canary STOPPED with an error and short of capacity, another gone, an alarm firing
    sick = on_new("CanaryA", state="STOPPED", desired=1, running=0, errors=("E: e",))

    # When
    problems = canary_problems([sick], ["CanaryA", "CanaryB"], IMAGE, {"Errors": "ALARM"})

    # Then
    assert problems == [
        "CanaryA: the fleet is STOPPED, so it tested nothing",
        "CanaryA: E: e",
        "CanaryA: 0 of 1 desired instances running",
        "CanaryB: the fleet no longer exists",
        "alarm Errors: ALARM",
    ]


# --- production, as tagged at approval ------------------------------------------------------------


def test_production_leaves_the_canaries_and_their_notes_out() -> None:
    # Given a canary already on the image, a canary still on OLD, a stopping canary, two
    # production fleets and one STARTING production fleet
    fleets = [
        on_new("CanaryDone"),
        fleet("CanaryLeft"),
        fleet("CanaryStopping", state="STOPPING"),
        fleet("ProdA", stage=PRODUCTION),
        fleet("ProdB", stage=PRODUCTION),
        fleet("ProdStarting", stage=PRODUCTION, state="STARTING"),
    ]

    # When
    plan = approved_production(
        ROOT, IMAGE, fleets, ["ProdA", "ProdB", "ProdStarting"], after="the approval"
    )

    # Then only production fleets are planned, and only production notes are kept
    assert plan.canaries == ()
    assert plan.production == ("ProdA", "ProdB")
    assert [(n.fleet, n.stage) for n in plan.passed_over] == [("ProdStarting", PRODUCTION)]


def test_production_still_reports_a_following_fleet_of_unknown_stage() -> None:
    # Given a fleet whose stage tag was changed to a typo while the approval waited
    plan = approved_production(
        ROOT, IMAGE, [fleet("Prod", stage="prodution")], ["Prod"], after="the approval"
    )

    # Then it is reported, not silently dropped
    assert plan.production == ()
    assert [n.fleet for n in plan.passed_over] == ["Prod"]


# --- the facts read from AppStream ----------------------------------------------------------------


def test_fleet_facts_from_appstream_read_the_fleet_and_its_tags() -> None:
    # Given DescribeFleets' shape with capacity and errors, and the fleet's tags
    described: dict[str, Any] = {
        "Name": "Canary",
        "Arn": f"{ARNS}:fleet/Canary",
        "FleetType": "ON_DEMAND",
        "State": "RUNNING",
        "Platform": "WINDOWS_SERVER_2022",
        "ImageName": OLD,
        "ImageArn": f"{ARNS}:image/{OLD}",
        "ComputeCapacityStatus": {"Desired": 3, "Running": 1},
        "FleetErrors": [{"ErrorCode": "INTERNAL_SERVICE_ERROR", "ErrorMessage": "oops"}],
        "MaxSessionsPerInstance": 5,
    }
    tags = {FOLLOWS_TAG: ROOT, STAGE_TAG: " Canary "}

    # When
    facts = FleetFacts.from_appstream(described, tags)

    # Then
    assert (facts.fleet_type, facts.state, facts.platform) == (
        "ON_DEMAND",
        "RUNNING",
        "WINDOWS_SERVER_2022",
    )
    assert (facts.desired, facts.running, facts.max_sessions_per_instance) == (3, 1, 5)
    assert facts.errors == ("INTERNAL_SERVICE_ERROR: oops",)
    assert (facts.image, facts.stage) == (OLD, " Canary ")  # as it is: matched exactly
    assert facts.tags == tags and facts.tags is not tags


def test_a_fleet_known_by_its_image_arn_only_names_it_by_arn() -> None:
    # Given a fleet on a shared image (DescribeFleets gives its ARN only)
    facts = FleetFacts.from_appstream(
        {"Name": "F", "Arn": f"{ARNS}:fleet/F", "ImageArn": IMAGE.arn}, {}
    )

    # Then its image, as a rollback would name it again, is the ARN; its stage is unknown
    assert facts.image == IMAGE.arn
    assert facts.stage is None
    assert facts.runs(NEW, IMAGE.arn)
    assert not facts.runs(NEW, None)


# --- the roll-out's record in the workflow --------------------------------------------------------


def full_rollout() -> Rollout:
    return Rollout(
        root_image_name=ROOT,
        execution_id="arn:aws:states:eu-west-1:111122223333:execution:Updater:run-1",
        new_image_name=NEW,
        new_image_arn=IMAGE.arn,
        platform="WINDOWS_SERVER_2022",
        canaries=("Canary",),
        production=("ProdA", "ProdB"),
        passed_over=(FleetNote("Odd", "qa", "its tag ..."),),
        updated=(FleetNote("Canary", CANARY, OLD),),
        not_updated=(FleetNote("ProdB", PRODUCTION, "FleetRefused"),),
        rolled_back=(FleetNote("Canary", CANARY, OLD),),
        canaries_updated_at="2026-06-01T03:00:00+00:00",
        healthy=False,
        problems=("alarm CanaryErrors: ALARM",),
        window_start="2026-06-06T20:00:00+00:00",
        approval={"decision": "APPROVED", "by": "arn:aws:iam::111122223333:user/alice"},
        superseded_by="ImgA-20260608-030000",
        outcome=CANARY_FIRST,
        error={"Error": "AppStreamBusy", "Cause": "busy"},
    )


def test_a_rollout_survives_the_round_trip_through_the_workflow() -> None:
    # Given a roll-out with every field set
    rollout = full_rollout()

    # When it is written to the workflow's state and read back
    again = Rollout.from_event(rollout.to_event())

    # Then nothing is lost
    assert again == rollout


def test_every_key_the_workflow_reads_is_present_even_when_null() -> None:
    # Given a roll-out just started
    rollout = Rollout(root_image_name=ROOT, execution_id="run-1", new_image_name=NEW)

    # When
    event = rollout.to_event()

    # Then
    assert event["outcome"] is None and event["healthy"] is None
    assert event["anyUpdateRefused"] is False
    assert event["canaries"] == [] and event["notUpdated"] == []
    assert "approval" not in event and "error" not in event
    assert Rollout.from_event(event) == rollout


def test_any_update_refused_follows_the_not_updated_fleets() -> None:
    # Given / When / Then
    assert full_rollout().to_event()["anyUpdateRefused"] is True


def test_a_failed_map_item_still_names_its_image() -> None:
    # Given what a Catch on the Map's item passes: the item's result, and the error
    event = {
        "rootImageName": ROOT,
        "executionId": "run-1",
        "result": {"newImageName": NEW, "outcome": "SUCCEEDED"},
        "error": {"Error": "States.TaskFailed", "Cause": "{}"},
    }

    # When
    rollout = Rollout.from_event(event)

    # Then
    assert rollout.new_image_name == NEW
    assert rollout.error == {"Error": "States.TaskFailed", "Cause": "{}"}
    assert rollout.canaries == () and rollout.outcome is None


@pytest.mark.parametrize(
    "event",
    [
        None,
        "ImgA",
        ["ImgA"],
        {},
        {"rootImageName": ROOT, "executionId": "run-1"},
        {"rootImageName": ROOT, "newImageName": NEW},
        {"executionId": "run-1", "newImageName": NEW},
        {"rootImageName": ROOT, "executionId": "run-1", "result": "ImgA-1"},
        {"rootImageName": ROOT, "executionId": "run-1", "result": {}},
        {"rootImageName": ROOT, "executionId": "run-1", "newImageName": NEW, "canaries": 3},
    ],
    ids=[
        "null",
        "a string",
        "a list",
        "empty",
        "no image",
        "no execution",
        "no root",
        "result not an object",
        "result without the image",
        "canaries not a list",
    ],
)
def test_a_malformed_rollout_is_invalid_input(event: Any) -> None:
    with pytest.raises(InvalidExecutionInput):
        Rollout.from_event(event)


def test_notes_that_are_not_objects_are_dropped_and_long_lists_are_bounded() -> None:
    # Given notes with junk among them, and more fleets than the state carries
    event = {
        "rootImageName": ROOT,
        "executionId": "run-1",
        "newImageName": NEW,
        "updated": ["junk", {"fleet": "Canary", "stage": CANARY, "note": OLD}, None],
        "production": [f"Prod{i}" for i in range(60)],
    }

    # When
    rollout = Rollout.from_event(event)

    # Then
    assert rollout.updated == (FleetNote("Canary", CANARY, OLD),)
    assert len(rollout.production) == 60
    assert rollout.to_event()["production"] == [f"Prod{i}" for i in range(50)]


def test_updated_in_a_stage_lists_only_that_stages_fleets() -> None:
    # Given
    rollout = full_rollout().evolve(
        updated=(
            FleetNote("Canary", CANARY, OLD),
            FleetNote("ProdA", PRODUCTION, OLD),
            FleetNote("Canary2", CANARY, None),
        ),
    )

    # When / Then
    assert [n.fleet for n in rollout.updated_in(CANARY)] == ["Canary", "Canary2"]
    assert [n.fleet for n in rollout.updated_in(PRODUCTION)] == ["ProdA"]
