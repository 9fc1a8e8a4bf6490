"""The roll-out's e-mails: each milestone says what changed on which fleet and what to do next;
the approval request gives the exact commands and the deadline."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from image_updater.domain.messages import MessageContext
from image_updater.rollout.messages import compose
from image_updater.rollout.models import CANARY, PRODUCTION, FleetNote, Rollout
from image_updater.rollout.outcomes import (
    APPROVAL_REQUESTED,
    APPROVAL_TIMED_OUT,
    CANARIES_UPDATED,
    CANARY_ROLLED_BACK,
    HELD_BACK,
    NOTHING_TO_ROLL_OUT,
    PRODUCTION_UPDATED,
    REJECTED,
    ROLLOUT_FAILED,
    SUPERSEDED,
)
from image_updater.rollout.settings import RolloutSettings
from tests.unit.rollout_facts import EXECUTION, NEW, NOW, OLD, ROOT

CTX = MessageContext(
    region="eu-west-1",
    partition="aws",
    execution_arn=EXECUTION,
    now=NOW,
    max_update_hours=8,
)
SETTINGS = RolloutSettings(
    canary_soak_hours=24,
    canary_alarm_names=("CanaryErrors",),
    require_approval=True,
    approval_timeout_hours=72,
    rollout_window="cron(0 22 ? * SAT *)",
    timezone="Europe/Paris",
)
EVERY_OUTCOME = [
    HELD_BACK,
    NOTHING_TO_ROLL_OUT,
    SUPERSEDED,
    CANARIES_UPDATED,
    APPROVAL_REQUESTED,
    CANARY_ROLLED_BACK,
    REJECTED,
    APPROVAL_TIMED_OUT,
    PRODUCTION_UPDATED,
    ROLLOUT_FAILED,
]
LAMBDA_ERROR = {
    "Error": "AppStreamThrottled",
    "Cause": json.dumps(
        {
            "errorMessage": "Rate exceeded for UpdateFleet",
            "errorType": "AppStreamThrottled",
            "requestId": "1",
            "stackTrace": ['  File "/var/task/x.py"'],
        }
    ),
}


def rollout(outcome: str | None, *, root: str = ROOT, new: str = NEW, **changes: Any) -> Rollout:
    """A roll-out of ImgA with two canaries changed, two production fleets and one passed
    over, at the milestone `outcome`."""
    base = Rollout(
        root_image_name=root,
        execution_id=EXECUTION,
        new_image_name=new,
        new_image_arn=f"arn:aws:appstream:eu-west-1:111122223333:image/{new}",
        platform="WINDOWS_SERVER_2022",
        canaries=("CanaryA", "CanaryB"),
        production=("ProdA", "ProdB"),
        passed_over=(FleetNote("Elastic", PRODUCTION, "Elastic fleets run app blocks"),),
        updated=(FleetNote("CanaryA", CANARY, OLD), FleetNote("CanaryB", CANARY, OLD)),
        canaries_updated_at=(NOW - timedelta(hours=24)).isoformat(),
        healthy=True,
        superseded_by="ImgA-20260608-030000",
        outcome=outcome,
    )
    return base.evolve(**changes)


def body_of(outcome: str | None, **changes: Any) -> str:
    return compose(rollout(outcome, **changes), CTX, SETTINGS).body


# What each e-mail says (and does not say), milestone by milestone: the roll-out is `rollout()`
# at the milestone, with the changes given.
@pytest.mark.parametrize(
    ("outcome", "changes", "said", "not_said"),
    [
        pytest.param(
            CANARIES_UPDATED,
            {},
            (
                "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/"
                f"details/{EXECUTION}",
            ),
            (),
            id="every_email_links_the_run",
        ),
        pytest.param(
            APPROVAL_REQUESTED,
            {},
            (
                f'  make run-now ARGS="approve {EXECUTION} --image {ROOT}"\n',
                f"  make run-now ARGS=\"reject {EXECUTION} --image {ROOT} --reason '...'\"\n",
            ),
            (),
            id="the_approval_request_gives_the_exact_commands_for_this_run_and_lineage",
        ),
        pytest.param(
            # When (now is 2026-06-01 04:00 UTC; approvalTimeoutHours 72)
            APPROVAL_REQUESTED,
            {},
            ("Without an answer by 2026-06-04 04:00 UTC (72 h, approvalTimeoutHours)",),
            (),
            id="the_approval_request_says_until_when_it_waits",
        ),
        pytest.param(
            APPROVAL_REQUESTED,
            {},
            (
                "Tested on canary fleets CanaryA, CanaryB since 2026-05-31 04:00 UTC (24 h)",
                "alarms OK: CanaryErrors",
                "Production fleets (only these may change; one untagged by then is left out, one "
                "tagged after this e-mail waits for the next approved roll-out): ProdA, ProdB",
                "at the next start of cron(0 22 ? * SAT *) (Europe/Paris)",
            ),
            (),
            id="the_approval_request_says_where_and_how_long_the_image_was_tested",
        ),
        pytest.param(
            APPROVAL_REQUESTED,
            {"canaries": (), "updated": ()},
            (
                "UNTESTED: no canary fleet is tagged for this lineage, so no canary ran this",
                "If you approve, production gets it untested.",
                "AppStreamImageUpdater:Stage=canary",
            ),
            ("Tested on canary fleets",),
            id="without_canaries_the_approval_request_says_nothing_was_tested_on_a_fleet",
        ),
        pytest.param(
            CANARIES_UPDATED,
            {},
            (
                f"  - CanaryA: {OLD} -> {NEW}",
                "checked at 2026-06-02 04:00 UTC, after 24 h",
                "alarms: CanaryErrors",
                "you are asked to approve production",
                "  - Elastic (production): Elastic fleets run app blocks",
            ),
            (),
            id="canaries_updated_says_which_fleets_and_when_they_are_checked",
        ),
        pytest.param(
            CANARY_ROLLED_BACK,
            {"rolled_back": (FleetNote("CanaryA", CANARY, OLD),)},
            (f"  - CanaryA: {NEW} -> {OLD}",),
            (),
            id="rolled_back_says_each_canary_went_from_the_new_image_to_its_previous_one",
        ),
        pytest.param(
            HELD_BACK,
            {
                "canaries": (),
                "updated": (),
                "held_back": (FleetNote("CanaryA", CANARY, "the canary is STARTING: ..."),),
            },
            (
                "Canary fleets that cannot test it:\n  - CanaryA (canary): the canary is STARTING",
                "What to do: make each canary able to take the image",
                "Production fleets left as they are:\n  - ProdA (production)\n",
            ),
            (),
            id="held_back_names_the_canary_why_and_what_to_do",
        ),
        pytest.param(
            HELD_BACK,
            {"canaries": (), "updated": ()},
            (
                "No canary fleet is tagged for this lineage",
                f"AppStreamImageUpdater:Image={ROOT} and AppStreamImageUpdater:Stage=canary",
                "-c requireApproval=true",
                "-c allowUntestedProduction=true",
            ),
            (),
            id="held_back_without_a_canary_says_how_to_let_production_go",
        ),
        pytest.param(
            CANARY_ROLLED_BACK,
            {"problems": ()},
            ("Why:\n  - a canary fleet refused\n",),
            (),
            id="a_rollback_caused_by_a_refusal_alone_says_so",
        ),
        pytest.param(
            ROLLOUT_FAILED,
            {"error": LAMBDA_ERROR},
            ("AppStreamThrottled", "Rate exceeded for UpdateFleet", f"  - CanaryA: {OLD} -> {NEW}"),
            ("stackTrace",),
            id="a_failed_rollout_shows_the_lambda_errors_message_not_its_json",
        ),
        pytest.param(
            ROLLOUT_FAILED,
            {"updated": (), "error": {"Error": "States.Timeout", "Cause": "late"}},
            ("No fleet of this lineage runs the new image.", "States.Timeout", "late"),
            (),
            id="a_failed_rollout_before_any_change_says_no_fleet_was_changed",
        ),
        pytest.param(
            REJECTED,
            {
                "approval": {
                    "decision": "REJECTED",
                    "by": "arn:aws:iam::1:user/bob",
                    "reason": "Friday",
                }
            },
            (
                "arn:aws:iam::1:user/bob",
                "Friday",
                "Production fleets were not touched.",
                '  make run-now ARGS="rollback --fleet CanaryA"\n',
                '  make run-now ARGS="rollback --fleet CanaryB"\n',
            ),
            (),
            id="rejected_says_who_and_why_and_how_to_put_the_canaries_back",
        ),
        pytest.param(
            APPROVAL_TIMED_OUT,
            {},
            (
                "within 72 h (approvalTimeoutHours)",
                '  make run-now ARGS="rollback --fleet CanaryA"\n',
            ),
            (),
            id="timed_out_says_the_timeout_and_how_to_put_the_canaries_back",
        ),
        pytest.param(
            PRODUCTION_UPDATED,
            {},
            ("No production fleet was changed",),
            ("rollback --fleet",),
            id="production_updated_without_a_change_says_so",
        ),
        pytest.param(
            SUPERSEDED,
            {},
            ("the lineage has a newer image, ImgA-20260608-030000",),
            (),
            id="superseded_names_the_newer_image",
        ),
        pytest.param(
            NOTHING_TO_ROLL_OUT,
            {},
            ("  - Elastic (production): Elastic fleets run app blocks", "nothing was changed"),
            (),
            id="nothing_to_roll_out_lists_why_each_fleet_was_passed_over",
        ),
    ],
)
def test_the_email_says(
    outcome: str, changes: dict[str, Any], said: tuple[str, ...], not_said: tuple[str, ...]
) -> None:
    # When
    body = body_of(outcome, **changes)

    # Then
    for text in said:
        assert text in body
    for text in not_said:
        assert text not in body


# --- every milestone ------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", EVERY_OUTCOME)
def test_every_outcome_has_a_short_ascii_subject_and_names_the_new_image(outcome: str) -> None:
    # Given an image name as long as AppStream allows (100 characters)
    root = "R" * 84
    new = f"{root}-20260601-030000"

    # When
    notification = compose(rollout(outcome, root=root, new=new, error=LAMBDA_ERROR), CTX, SETTINGS)

    # Then the subject fits SNS (at most 100 printable ASCII characters) and the body names it
    assert len(new) == 100
    assert 0 < len(notification.subject) <= 99
    assert all(32 <= ord(c) < 127 for c in notification.subject)
    assert new in notification.body
    assert f"executions/details/{EXECUTION}" in notification.body
    assert (notification.outcome, notification.image, notification.new_image_name) == (
        outcome,
        root,
        new,
    )


@pytest.mark.parametrize("outcome", EVERY_OUTCOME)
def test_each_outcome_has_its_own_subject_naming_the_image(outcome: str) -> None:
    # Given / When
    subjects = {o: compose(rollout(o), CTX, SETTINGS).subject for o in EVERY_OUTCOME}

    # Then
    assert NEW in subjects[outcome]
    assert list(subjects.values()).count(subjects[outcome]) == 1


@pytest.mark.parametrize("outcome", EVERY_OUTCOME)
def test_only_a_rollback_or_a_failure_is_a_failed_roll_out(outcome: str) -> None:
    # When
    notification = compose(rollout(outcome, error=LAMBDA_ERROR), CTX, SETTINGS)

    # Then
    assert notification.failed is (outcome in (CANARY_ROLLED_BACK, ROLLOUT_FAILED))


def test_a_rollout_without_an_outcome_is_told_as_failed() -> None:
    # When
    notification = compose(rollout(None, error=LAMBDA_ERROR), CTX, SETTINGS)

    # Then
    assert (notification.outcome, notification.failed) == (ROLLOUT_FAILED, True)
    assert "stopped with an error" in notification.body


# --- the approval request -------------------------------------------------------------------------


def test_without_alarms_the_approval_request_says_none_was_configured() -> None:
    # When
    body = compose(
        rollout(APPROVAL_REQUESTED),
        CTX,
        RolloutSettings(24, (), True, 72, "immediately", "UTC"),
    ).body

    # Then
    assert "(no alarms configured: canaryAlarmNames)" in body
    assert "They get the image immediately after approval." in body


# --- the other milestones -------------------------------------------------------------------------


def test_rolled_back_lists_the_problems_and_says_production_was_not_touched() -> None:
    # Given
    problems = ("CanaryA: the fleet is STOPPED, so it tested nothing", "alarm CanaryErrors: ALARM")

    # When
    body = body_of(
        CANARY_ROLLED_BACK,
        healthy=False,
        problems=problems,
        rolled_back=(FleetNote("CanaryA", CANARY, OLD),),
        not_updated=(FleetNote("CanaryB", CANARY, "left on Hotfix: changed by someone else"),),
    )

    # Then
    assert f"Why:\n  - {problems[0]}\n  - {problems[1]}\n" in body
    assert "Production fleets were not touched." in body
    assert "  - CanaryB (canary): left on Hotfix: changed by someone else" in body


def test_an_unhealthy_canary_the_roll_out_never_changed_is_not_said_to_be_rolled_back() -> None:
    # Given the only canary was already on the image (so this roll-out changed no canary)
    notification = compose(
        rollout(CANARY_ROLLED_BACK, updated=(), problems=("alarm CanaryErrors: ALARM",)),
        CTX,
        SETTINGS,
    )

    # Then
    assert notification.subject == f"AppStream canary UNHEALTHY: {NEW}"
    assert "none of them was changed by this roll-out (already on it)" in notification.body


@pytest.mark.parametrize(
    ("rolled_back", "subject", "said"),
    [
        (("CanaryA", "CanaryB"), ", rolled back", "put them back on their previous images"),
        (("CanaryA",), ", NOT all rolled back", "CanaryB could not be put back"),
        ((), ", NOT rolled back", "could not put them back"),
    ],
)
def test_the_rollback_subject_says_only_what_was_put_back(
    rolled_back: tuple[str, ...], subject: str, said: str
) -> None:
    # Given both canaries were changed by the roll-out, and only some went back (a tampered
    # record or a refusal keeps the others where they are)
    notes = tuple(FleetNote(fleet, CANARY, OLD) for fleet in rolled_back)

    # When
    notification = compose(rollout(CANARY_ROLLED_BACK, rolled_back=notes), CTX, SETTINGS)

    # Then
    assert notification.subject == f"AppStream canary UNHEALTHY{subject}: {NEW}"
    assert said in notification.body


def test_production_updated_lists_each_fleet_and_its_rollback_command() -> None:
    # Given the canary and two production fleets changed, one refused
    updated = (
        FleetNote("CanaryA", CANARY, OLD),
        FleetNote("ProdA", PRODUCTION, OLD),
        FleetNote("ProdB", PRODUCTION, None),
    )

    # When
    body = body_of(
        PRODUCTION_UPDATED,
        updated=updated,
        not_updated=(FleetNote("ProdC", PRODUCTION, "IncompatibleImageException: no"),),
        approval={"decision": "APPROVED", "by": "alice"},
    )

    # Then
    assert "Approved by alice." in body
    assert f"  - ProdA: {OLD} -> {NEW}" in body
    assert f"  - ProdB: no image -> {NEW}" in body
    assert "  - ProdC (production): IncompatibleImageException: no" in body
    assert '  make run-now ARGS="rollback --fleet ProdA"\n' in body
    assert "rollback --fleet CanaryA" not in body
