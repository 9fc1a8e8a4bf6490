"""The `organization` setting: any valid organisation loads as drawn; each broken field is
refused naming the key, the field, the value and the rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.config import ConfigError, load_config
from infra.config.organization import FIELDS, Organization
from infra.regions import appstream_regions

HUB = "111122223333"
VALID: dict[str, Any] = {
    "organizationId": "o-a1b2c3d4e5",
    "hubAccountId": HUB,
    "hubRegions": ["eu-west-1"],
    "spokeRegions": ["eu-west-1", "us-east-1"],
    "spokeOrganizationalUnitIds": ["ou-ab12-cdef3456"],
}

accounts = st.from_regex(r"[0-9]{12}", fullmatch=True).filter(lambda account: account != HUB)
regions = st.lists(st.sampled_from(appstream_regions()), min_size=1, max_size=4, unique=True)
units = st.lists(
    st.from_regex(r"ou-[a-z0-9]{4,8}-[a-z0-9]{8,12}|r-[a-z0-9]{4,8}", fullmatch=True),
    min_size=1,
    max_size=3,
    unique=True,
)


@st.composite
def organizations(draw: st.DrawFn) -> dict[str, Any]:
    drawn: dict[str, Any] = {
        **VALID,
        "organizationId": draw(st.from_regex(r"o-[a-z0-9]{10,16}", fullmatch=True)),
        "hubRegions": draw(regions),
        "spokeRegions": draw(regions),
        "spokeOrganizationalUnitIds": draw(units),
    }
    optional = {
        "spokeAccountIds": st.lists(accounts, max_size=3, unique=True),
        "callAs": st.sampled_from(["SELF", "DELEGATED_ADMIN"]),
        "maxConcurrentPercentage": st.integers(1, 100),
        "failureTolerancePercentage": st.integers(0, 100),
        "regionConcurrency": st.sampled_from(["PARALLEL", "SEQUENTIAL"]),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            drawn[key] = draw(values)
    return drawn


def loaded(raw: object) -> Organization | None:
    organization: Organization | None = load_config(
        {"imageNames": "ImgA", "organization": raw}
    ).organization
    return organization


@settings(max_examples=40, deadline=None)
@given(organizations(), st.booleans())
def test_any_valid_organization_loads_as_drawn(drawn: dict[str, Any], as_string: bool) -> None:
    # Given an organisation in cdk.json, or as `-c organization='{...}'`
    # When loaded
    organization = loaded(json.dumps(drawn) if as_string else drawn)
    # Then every field comes back, the others at their defaults
    assert organization is not None
    for key, attribute in FIELDS.items():
        value = getattr(organization, attribute)
        if key in drawn:
            assert (list(value) if isinstance(value, tuple) else value) == drawn[key], key
        else:
            assert value == getattr(Organization, attribute), key


@pytest.mark.parametrize("unset", [None, {}, "", "null", "{}"])
def test_an_unset_organization_is_one_account_and_region(unset: object) -> None:
    assert loaded(unset) is None


def refused(**changes: object) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as error:
        loaded({**VALID, **changes})
    return error.value.problems


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"organizationId": "o-12"}, "organization: organizationId: 'o-12' must be an "),
        ({"hubAccountId": "1111"}, "organization: hubAccountId: '1111' must be an AWS account"),
        ({"hubRegions": []}, "organization: hubRegions: [] must name at least one Region"),
        (
            {"spokeRegions": ["eu-west-1", "us-east-7"]},
            "organization: spokeRegions: 'us-east-7' must be a Region with an AppStream 2.0 ",
        ),
        (
            {"spokeRegions": ["eu-west-1", "eu-west-1"]},
            "organization: spokeRegions: 'eu-west-1' is listed more than once",
        ),
        (
            {"spokeRegions": ["cn-north-1"]},
            "organization: spokeRegions: 'cn-north-1' must be a Region with an AppStream 2.0 ",
        ),
        (
            {"spokeOrganizationalUnitIds": ["ou-1"]},
            "organization: spokeOrganizationalUnitIds: 'ou-1' must be an OU ID",
        ),
        (
            {"spokeOrganizationalUnitIds": []},
            "organization: spokeOrganizationalUnitIds: [] must name at least one OU",
        ),
        (
            {"spokeOrganizationalUnitIds": ["ou-ab12-cdef3456", "ou-ab12-cdef3456"]},
            "organization: spokeOrganizationalUnitIds: 'ou-ab12-cdef3456' is listed more than",
        ),
        (
            {"spokeAccountIds": ["444455556666", HUB]},
            f"organization: spokeAccountIds: '{HUB}' is the hub's account",
        ),
        (
            {"spokeAccountIds": ["4444", "4444"]},
            "organization: spokeAccountIds: '4444' must be an AWS account ID",
        ),
        ({"callAs": "ADMIN"}, "organization: callAs: 'ADMIN' must be one of DELEGATED_ADMIN, "),
        (
            {"maxConcurrentPercentage": 0},
            "organization: maxConcurrentPercentage: 0 must be between 1 and 100",
        ),
        (
            {"failureTolerancePercentage": 101},
            "organization: failureTolerancePercentage: 101 must be between 0 and 100",
        ),
        (
            {"regionConcurrency": "ALL"},
            "organization: regionConcurrency: 'ALL' must be one of PARALLEL, SEQUENTIAL",
        ),
        ({"hubRegion": ["eu-west-1"]}, "organization: {"),
        ({"maxConcurrentPercentage": "25"}, "maxConcurrentPercentage must be an integer"),
        ({"hubRegions": "eu-west-1"}, "hubRegions must be a list of strings"),
    ],
)
def test_a_broken_field_is_refused_naming_key_field_value_and_rule(
    changes: dict[str, object], expected: str
) -> None:
    problems = refused(**changes)
    assert any(expected in problem for problem in problems), problems
    assert all(problem.startswith("organization: ") for problem in problems), problems


def test_a_missing_field_is_named() -> None:
    raw = {key: value for key, value in VALID.items() if key != "spokeRegions"}
    with pytest.raises(ConfigError) as error:
        loaded(raw)
    assert error.value.problems == (f"organization: {raw!r} lacks spokeRegions",)


def test_every_problem_is_reported_at_once() -> None:
    problems = refused(organizationId="x", hubRegions=["mars-1"], callAs="ME")
    assert [problem.split(":")[1].strip() for problem in problems] == [
        "organizationId",
        "hubRegions",
        "callAs",
    ]


# Values of `organization` that must be refused (tests/unit/test_config.py draws from them).
INVALID_ORGANIZATIONS: st.SearchStrategy[object] = st.one_of(
    st.integers(),
    st.lists(st.just(VALID), min_size=1),
    st.just("{not json"),
    st.sampled_from(
        [
            {**VALID, "organizationId": "o-UPPERCASE1"},
            {**VALID, "hubRegions": ["eu-west-9"]},
            {**VALID, "spokeOrganizationalUnitIds": ["ou-short"]},
            {**VALID, "callAs": "self"},
            {**VALID, "unknownField": 1},
            {key: value for key, value in VALID.items() if key != "hubAccountId"},
        ]
    ),
)
