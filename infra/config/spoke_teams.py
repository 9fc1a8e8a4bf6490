"""`organization.spokeTeams`: each OU's own team, for the spokes the StackSet deploys there:
the addresses their topic e-mails and the IAM principals who may approve their roll-outs.
An OU no team names keeps the top-level `notificationEmails` and `approvers`.

Per OU, not per account: the StackSet resource gives each OU exactly one set of parameter
overrides (CloudFormation's AWS::CloudFormation::StackSet handler refuses "An
OrganizationalUnitIds cannot be associated with more than one Parameters set"), and automatic
deployment ignores account filters. An account with a team of its own goes in an OU of its own.

CloudFormation cannot loop over a list, so the spokes' template holds a fixed number of slots
for each list (infra/spoke/team.py): a longer list is refused here, naming the key.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping

from infra.approvers import APPROVERS_MAX, approvers_problems
from infra.config.parsing import Unparsable
from infra.config.values import email_problems

# The slots of the spokes' template: one parameter (and one subscription, or one pair of
# permissions) each. Approvers: as many as the key allows anywhere.
EMAIL_SLOTS = 10
APPROVER_SLOTS = APPROVERS_MAX
# Each approver slot's longest value: the approval function's APPROVERS list holds every slot
# (as `"<ARN>",`), and all its variables together must fit Lambda's 4 KB.
APPROVER_ARN_MAX = 350
# The template puts each approver between quotes in the approval function's JSON list.
_JSON_UNSAFE = re.compile(r'["\\]')


@dataclasses.dataclass(frozen=True)
class SpokeTeam:
    """None for a list the team does not set: its spokes keep the top-level one."""

    organizational_unit_ids: tuple[str, ...]
    notification_emails: tuple[str, ...] | None = None
    approvers: tuple[str, ...] | None = None


_FIELDS = {
    "organizationalUnitIds": "organizational_unit_ids",
    "notificationEmails": "notification_emails",
    "approvers": "approvers",
}
ALLOWED = (
    "a list of objects, each organizationalUnitIds (some of spokeOrganizationalUnitIds) with "
    "notificationEmails and/or approvers"
)


def as_spoke_teams(value: object) -> tuple[SpokeTeam, ...]:
    """Shapes only; `spoke_teams_problems` checks the rules."""
    if not isinstance(value, list | tuple):
        raise Unparsable(f"spokeTeams must be {ALLOWED}, not {value!r}")
    return tuple(_team(f"spokeTeams[{index}]", raw) for index, raw in enumerate(value))


def _team(path: str, raw: object) -> SpokeTeam:
    if not isinstance(raw, Mapping):
        raise Unparsable(f"{path} must be an object ({ALLOWED}), not {raw!r}")
    if "accountIds" in raw:
        raise Unparsable(
            f"{path}.accountIds: a team is per OU, not per account: the StackSet gives each "
            "OU one set of parameter values, and accounts that join an OU later get the "
            "StackSet's own; put the account in an OU of its own and name that OU"
        )
    unknown = [key for key in raw if key not in _FIELDS]
    if unknown:
        raise Unparsable(
            f"{path} has unknown fields {unknown}; the fields are {', '.join(_FIELDS)}"
        )
    if "organizationalUnitIds" not in raw:
        raise Unparsable(f"{path} lacks organizationalUnitIds")
    if "notificationEmails" not in raw and "approvers" not in raw:
        raise Unparsable(f"{path} sets neither notificationEmails nor approvers")
    values: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        if not (isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)):
            raise Unparsable(f"{path}.{key} must be a list of strings, not {value!r}")
        values[_FIELDS[key]] = tuple(value)
    return SpokeTeam(**values)


def spoke_teams_problems(
    teams: tuple[SpokeTeam, ...], spoke_units: tuple[str, ...]
) -> Iterator[str]:
    """Each team's OUs are spoke OUs, each OU in one team at most, and each list follows its
    top-level key's rules and fits the template's slots."""
    claimed: dict[str, int] = {}
    for index, team in enumerate(teams):
        path = f"spokeTeams[{index}]"
        units = team.organizational_unit_ids
        if not units:
            yield f"{path}.organizationalUnitIds: [] must name at least one OU"
        for unit in units:
            if unit not in spoke_units:
                yield (
                    f"{path}.organizationalUnitIds: {unit!r} is not one of "
                    f"spokeOrganizationalUnitIds ({', '.join(spoke_units)}): a team names OUs "
                    "the StackSet deploys to"
                )
            elif unit in claimed:
                yield (
                    f"{path}.organizationalUnitIds: {unit!r} is already spokeTeams"
                    f"[{claimed[unit]}]'s: an OU has one team"
                )
            else:
                claimed[unit] = index
        if team.notification_emails is not None:
            key = f"{path}.notificationEmails"
            yield from (f"{key}: {p}" for p in email_problems(team.notification_emails))
            yield from slots_problems(key, team.notification_emails, EMAIL_SLOTS)
        if team.approvers is not None:
            yield from team_approvers_problems(f"{path}.approvers", team.approvers)


def team_approvers_problems(key: str, approvers: tuple[str, ...]) -> Iterator[str]:
    """The `approvers` rules, and the one the spokes' template adds."""
    # (approvers_problems holds the list to APPROVERS_MAX, the template's APPROVER_SLOTS)
    yield from (f"{key}: {problem}" for problem in approvers_problems(approvers))
    yield from approver_slot_problems(key, approvers)


def approver_slot_problems(key: str, approvers: tuple[str, ...]) -> Iterator[str]:
    """What a value needs to fit an approver slot of the spokes' template."""
    for arn in approvers:
        if _JSON_UNSAFE.search(arn):
            yield (
                f"{key}: {arn!r} holds a quote or a backslash: the spokes' template writes "
                "each approver into a JSON list"
            )
        if len(arn) > APPROVER_ARN_MAX:
            yield (
                f"{key}: {arn!r} is {len(arn)} characters; an approver slot of the spokes' "
                f"template holds at most {APPROVER_ARN_MAX} (the approval function's "
                "variables must fit Lambda's 4 KB)"
            )


def slots_problems(key: str, values: tuple[str, ...], slots: int) -> Iterator[str]:
    if len(values) > slots:
        yield (
            f"{key}: {len(values)} values; the spokes' template has {slots} slots for it "
            "(CloudFormation cannot loop over a list)"
        )
