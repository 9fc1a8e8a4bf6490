"""The `organization` setting: one JSON object describing a deployment across an AWS
Organization (the hub's account and Regions, the spokes' OUs and Regions, how the StackSet
rolls out). Unset (null or {}), `cdk deploy` deploys one stack to one account and Region.

Each problem is "<field>: <value> <rule>"; the loader puts `organization: ` in front, so a
line names the key, the field, the value and the rule.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from infra.config.parsing import Unparsable
from infra.config.spoke_teams import SpokeTeam, as_spoke_teams, spoke_teams_problems
from infra.config.values import account_ids_problems
from infra.regions import appstream_regions

# AWS Organizations' ID formats (the API reference's patterns): an organization, an OU, the
# root (a StackSet may target the root: every account of the organization).
_ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}")
_OU_OR_ROOT_ID = re.compile(r"ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32}")
CALL_AS = ("DELEGATED_ADMIN", "SELF")
REGION_CONCURRENCY = ("PARALLEL", "SEQUENTIAL")
# StackSets' operation preferences take 1-100 (concurrency) and 0-100 (tolerance) percent.
MAX_CONCURRENT = range(1, 101)
FAILURE_TOLERANCE = range(0, 101)


@dataclasses.dataclass(frozen=True)
class Organization:
    """The organisation: the hub (one stack per hub Region, in the hub's account) and the
    spokes (a service-managed StackSet deployed to every account of the OUs, in each spoke
    Region). The StackSet is created in the hub's account (a delegated administrator for
    StackSets, or the management account with callAs SELF), in the first hub Region.
    `spoke_teams` give some OUs' spokes their own e-mails and approvers (spoke_teams.py)."""

    organization_id: str
    hub_account_id: str
    hub_regions: tuple[str, ...]
    spoke_regions: tuple[str, ...]
    spoke_organizational_unit_ids: tuple[str, ...]
    spoke_account_ids: tuple[str, ...] = ()
    call_as: str = "DELEGATED_ADMIN"
    max_concurrent_percentage: int = 25
    failure_tolerance_percentage: int = 10
    region_concurrency: str = "PARALLEL"
    spoke_teams: tuple[SpokeTeam, ...] = ()

    @property
    def home_region(self) -> str:
        """Where the StackSet (and its administration) lives: the first hub Region."""
        return self.hub_regions[0]

    @property
    def code_regions(self) -> tuple[str, ...]:
        """Regions with a spoke code bucket: every spoke Region, and the home Region (which
        holds the spoke template the StackSet reads)."""
        return tuple(dict.fromkeys((self.home_region, *self.spoke_regions)))


# JSON field -> (Organization attribute, reader); the order is the docs'.
_REQUIRED = (
    *("organizationId", "hubAccountId", "hubRegions", "spokeRegions"),
    "spokeOrganizationalUnitIds",
)
FIELDS = {
    "organizationId": "organization_id",
    "hubAccountId": "hub_account_id",
    "hubRegions": "hub_regions",
    "spokeRegions": "spoke_regions",
    "spokeOrganizationalUnitIds": "spoke_organizational_unit_ids",
    "spokeAccountIds": "spoke_account_ids",
    "callAs": "call_as",
    "maxConcurrentPercentage": "max_concurrent_percentage",
    "failureTolerancePercentage": "failure_tolerance_percentage",
    "regionConcurrency": "region_concurrency",
    "spokeTeams": "spoke_teams",
}
_LISTS = {"hubRegions", "spokeRegions", "spokeOrganizationalUnitIds", "spokeAccountIds"}
_INTEGERS = {"maxConcurrentPercentage", "failureTolerancePercentage"}
ALLOWED = (
    "null or {} (one account and Region), or a JSON object: organizationId, hubAccountId, "
    "hubRegions, spokeRegions, spokeOrganizationalUnitIds (required); spokeAccountIds, "
    "callAs (DELEGATED_ADMIN or SELF), maxConcurrentPercentage (1 to 100), "
    "failureTolerancePercentage (0 to 100), regionConcurrency (PARALLEL or SEQUENTIAL), "
    "spokeTeams (OUs with their own notificationEmails and/or approvers)"
)


def as_organization(raw: object) -> Organization | None:
    """The object as typed fields; None when unset. Shapes only: the rules are checked by
    `organization_problems`, which reports every one at once."""
    if raw is None:
        return None
    if isinstance(raw, str):
        if not raw.strip() or raw.strip() == "null":
            return None
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise Unparsable("must be a JSON object (invalid JSON)") from None
    if not isinstance(raw, Mapping):
        raise Unparsable("must be a JSON object")
    if not raw:
        return None
    unknown = [key for key in raw if key not in FIELDS]
    if unknown:
        raise Unparsable(f"has unknown fields {unknown}; the fields are {', '.join(FIELDS)}")
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise Unparsable(f"lacks {', '.join(missing)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        values[FIELDS[key]] = _field(key, value)
    return Organization(**values)


def _field(key: str, value: object) -> object:
    if key == "spokeTeams":
        return as_spoke_teams(value)
    if key in _LISTS:
        if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise Unparsable(f"{key} must be a list of strings, not {value!r}")
    if key in _INTEGERS:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise Unparsable(f"{key} must be an integer, not {value!r}")
    if isinstance(value, str):
        return value
    raise Unparsable(f"{key} must be a string, not {value!r}")


def organization_problems(organization: Organization | None) -> Iterator[str]:
    if organization is None:
        return
    yield from _ids(organization)
    yield from _regions("hubRegions", organization.hub_regions)
    yield from _regions("spokeRegions", organization.spoke_regions)
    yield from _options(organization)
    yield from spoke_teams_problems(
        organization.spoke_teams, organization.spoke_organizational_unit_ids
    )


def _ids(organization: Organization) -> Iterator[str]:
    if not _ORGANIZATION_ID.fullmatch(organization.organization_id):
        yield (
            f"organizationId: {organization.organization_id!r} must be an organization ID "
            "like o-a1b2c3d4e5 (AWS Organizations console, or `aws organizations "
            "describe-organization`)"
        )
    hub = organization.hub_account_id
    yield from (f"hubAccountId: {problem}" for problem in account_ids_problems((hub,)))
    units = organization.spoke_organizational_unit_ids
    if not units:
        yield (
            "spokeOrganizationalUnitIds: [] must name at least one OU (or the root): a "
            "service-managed StackSet deploys to the accounts of OUs"
        )
    for unit in units:
        if not _OU_OR_ROOT_ID.fullmatch(unit):
            yield (
                f"spokeOrganizationalUnitIds: {unit!r} must be an OU ID like "
                "ou-ab12-cdef3456 or a root ID like r-ab12"
            )
    yield from _listed_twice("spokeOrganizationalUnitIds", units)
    accounts = organization.spoke_account_ids
    yield from (f"spokeAccountIds: {problem}" for problem in account_ids_problems(accounts))
    if hub in accounts:
        yield (
            f"spokeAccountIds: {hub!r} is the hub's account: the hub rolls its images out "
            "to its own fleets; the StackSet never deploys a spoke there"
        )


def _regions(key: str, regions: tuple[str, ...]) -> Iterator[str]:
    if not regions:
        yield f"{key}: [] must name at least one Region"
    for region in regions:
        if region not in appstream_regions():
            yield (
                f"{key}: {region!r} must be a Region with an AppStream 2.0 endpoint: "
                f"{', '.join(appstream_regions())}"
            )
    yield from _listed_twice(key, regions)


def _options(organization: Organization) -> Iterator[str]:
    if organization.call_as not in CALL_AS:
        yield f"callAs: {organization.call_as!r} must be one of {', '.join(CALL_AS)}"
    if organization.region_concurrency not in REGION_CONCURRENCY:
        yield (
            f"regionConcurrency: {organization.region_concurrency!r} must be one of "
            f"{', '.join(REGION_CONCURRENCY)}"
        )
    for key, value, bounds in (
        ("maxConcurrentPercentage", organization.max_concurrent_percentage, MAX_CONCURRENT),
        (
            "failureTolerancePercentage",
            organization.failure_tolerance_percentage,
            FAILURE_TOLERANCE,
        ),
    ):
        if value not in bounds:
            yield f"{key}: {value!r} must be between {bounds.start} and {bounds.stop - 1}"


def _listed_twice(key: str, items: tuple[str, ...]) -> Iterator[str]:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            yield f"{key}: {item!r} is listed more than once"
        seen.add(item)
