"""`organization.spokeTeams`: each OU's own e-mails and approvers for the StackSet's spokes.
A valid team loads as written; each broken rule is refused naming the key path, the value and
the rule; the top-level lists must fit the same slots of the spokes' template."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, UpdaterConfig, load_config
from infra.config.spoke_teams import APPROVER_ARN_MAX, EMAIL_SLOTS, SpokeTeam
from infra.organization.stages import organization_problems_across_keys
from tests.unit.test_organization_config import VALID

PROD, TEST = "ou-ab12-cdef3456", "ou-ab12-99998888"
ORGANIZATION: dict[str, Any] = {**VALID, "spokeOrganizationalUnitIds": [PROD, TEST]}
ROLE = "arn:aws:iam::444455556666:role/ProdApprovers"


def config(teams: object, **context: object) -> UpdaterConfig:
    return load_config(
        {"imageNames": "ImgA", "organization": {**ORGANIZATION, "spokeTeams": teams}, **context}
    )


def refused(teams: object, **context: object) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as error:
        config(teams, **context)
    return error.value.problems


def test_a_team_loads_as_written_and_a_list_it_leaves_out_stays_unset() -> None:
    loaded = config(
        [
            {"organizationalUnitIds": [PROD], "notificationEmails": ["prod@example.com"]},
            {"organizationalUnitIds": [TEST], "approvers": [ROLE], "notificationEmails": []},
        ]
    ).organization
    assert loaded is not None
    assert loaded.spoke_teams == (
        SpokeTeam((PROD,), notification_emails=("prod@example.com",)),
        SpokeTeam((TEST,), notification_emails=(), approvers=(ROLE,)),
    )


def test_without_teams_every_spoke_keeps_the_top_level_values() -> None:
    loaded = load_config({"imageNames": "ImgA", "organization": ORGANIZATION}).organization
    assert loaded is not None and loaded.spoke_teams == ()


def _team(**fields: object) -> dict[str, object]:
    return {"organizationalUnitIds": [PROD], "notificationEmails": ["a@example.com"], **fields}


@pytest.mark.parametrize(
    ("teams", "expected"),
    [
        (
            [_team(organizationalUnitIds=["ou-ab12-11112222"])],
            "organization: spokeTeams[0].organizationalUnitIds: 'ou-ab12-11112222' is not one "
            f"of spokeOrganizationalUnitIds ({PROD}, {TEST})",
        ),
        (
            [_team(), _team(organizationalUnitIds=[TEST, PROD])],
            f"organization: spokeTeams[1].organizationalUnitIds: '{PROD}' is already "
            "spokeTeams[0]'s: an OU has one team",
        ),
        (
            [_team(organizationalUnitIds=[])],
            "organization: spokeTeams[0].organizationalUnitIds: [] must name at least one OU",
        ),
        (
            [_team(notificationEmails=["not-an-address"])],
            "organization: spokeTeams[0].notificationEmails: 'not-an-address' must be an "
            "e-mail address",
        ),
        (
            [_team(notificationEmails=["a@example.com", "A@example.com"])],
            "organization: spokeTeams[0].notificationEmails: 'A@example.com' is listed more "
            "than once",
        ),
        (
            [_team(notificationEmails=[f"u{i}@example.com" for i in range(EMAIL_SLOTS + 1)])],
            f"organization: spokeTeams[0].notificationEmails: {EMAIL_SLOTS + 1} values; the "
            f"spokes' template has {EMAIL_SLOTS} slots for it",
        ),
        (
            [_team(approvers=["arn:aws:iam::4444:role/X"])],
            "organization: spokeTeams[0].approvers: 'arn:aws:iam::4444:role/X' is not an IAM "
            "role or user ARN",
        ),
        (
            [_team(approvers=[f"arn:aws:iam::444455556666:role/A{i}" for i in range(11)])],
            "organization: spokeTeams[0].approvers: 11 approvers; at most 10",
        ),
        (
            [_team(approvers=['arn:aws:iam::444455556666:role/a"b/X'])],
            "organization: spokeTeams[0].approvers: 'arn:aws:iam::444455556666:role/a\"b/X' "
            "holds a quote or a backslash",
        ),
        (
            [_team(approvers=["arn:aws:iam::444455556666:role/" + "p/" * 160 + "X"])],
            f"characters; an approver slot of the spokes' template holds at most "
            f"{APPROVER_ARN_MAX}",
        ),
        (
            [{"accountIds": ["444455556666"], "notificationEmails": ["a@example.com"]}],
            "spokeTeams[0].accountIds: a team is per OU, not per account",
        ),
        ([_team(notifications=["a@example.com"])], "spokeTeams[0] has unknown fields"),
        (
            [{"notificationEmails": ["a@example.com"]}],
            "spokeTeams[0] lacks organizationalUnitIds",
        ),
        (
            [{"organizationalUnitIds": [PROD]}],
            "spokeTeams[0] sets neither notificationEmails nor approvers",
        ),
        ({"organizationalUnitIds": [PROD]}, "spokeTeams must be a list of objects"),
        (["ou-ab12-cdef3456"], "spokeTeams[0] must be an object"),
        ([_team(approvers=ROLE)], "spokeTeams[0].approvers must be a list of strings"),
    ],
)
def test_a_broken_team_is_refused_naming_the_key_path_the_value_and_the_rule(
    teams: object, expected: str
) -> None:
    problems = refused(teams)
    assert any(expected in problem for problem in problems), problems
    assert all(problem.startswith("organization: ") for problem in problems), problems


def test_every_broken_team_is_reported_at_once() -> None:
    problems = refused(
        [
            _team(notificationEmails=["bad"]),
            _team(organizationalUnitIds=[TEST], approvers=["arn:aws:iam::1:user/x"]),
        ]
    )
    assert [problem.split(":")[1].strip() for problem in problems] == [
        "spokeTeams[0].notificationEmails",
        "spokeTeams[1].approvers",
    ]


def test_top_level_emails_beyond_the_slots_are_refused_with_an_organisation() -> None:
    emails = ",".join(f"u{i}@example.com" for i in range(EMAIL_SLOTS + 1))
    problems = organization_problems_across_keys(config([], notificationEmails=emails))
    assert problems == [
        f"notificationEmails: {EMAIL_SLOTS + 1} values; the spokes' template has "
        f"{EMAIL_SLOTS} slots for it (CloudFormation cannot loop over a list)"
    ]
    # And as many as the slots hold are accepted
    fits = ",".join(f"u{i}@example.com" for i in range(EMAIL_SLOTS))
    assert organization_problems_across_keys(config([], notificationEmails=fits)) == []


def test_a_top_level_approver_that_cannot_fill_a_slot_is_refused_with_an_organisation() -> None:
    long = "arn:aws:iam::444455556666:role/" + "p/" * 160 + "X"
    (problem,) = organization_problems_across_keys(config([], approvers=long))
    assert problem.startswith(f"approvers: {long!r} is {len(long)} characters")


def test_team_approvers_without_approval_are_refused_naming_the_team() -> None:
    teams = [_team(), {"organizationalUnitIds": [TEST], "approvers": [ROLE]}]
    problems = organization_problems_across_keys(config(teams, requireApproval="false"))
    assert problems == [
        f"organization: spokeTeams[1].approvers: [{ROLE!r}] with requireApproval false: "
        "nobody is asked to approve; remove them or set requireApproval true"
    ]
    assert organization_problems_across_keys(config(teams)) == []
