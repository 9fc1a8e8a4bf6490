"""DescribeImages and the images a test adds: as AppStream lists, pages and filters them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rehearsal.appstream import SimulatedAppStream
from tests.unit.simulation.support import ARN_PREFIX, START, error_code


def test_describe_by_name_returns_the_image_as_added(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    added = sim.add_image("SalesApps", description="Sales apps", display_name="Sales")
    sim.add_image("Other")

    # When
    images = client.describe_images(Names=["SalesApps"])["Images"]

    # Then
    assert images == [added]
    assert added["Arn"] == ARN_PREFIX + "SalesApps"
    assert added["CreatedTime"] == START
    assert sim.violations == []


def test_an_unknown_name_raises_the_modeled_not_found_error(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps")

    # When
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.describe_images(Names=["SalesApps", "Typo"])

    # Then
    assert "Typo" in raised.value.response["Error"]["Message"]
    assert sim.calls[-1].error == "ResourceNotFoundException"


@pytest.mark.parametrize(("count", "page_sizes"), [(5, [2, 2, 1]), (4, [2, 2])])
def test_pagination_returns_every_image_exactly_once(
    sim: SimulatedAppStream, client: Any, count: int, page_sizes: list[int]
) -> None:
    # Given
    names = [f"Image{index}" for index in range(count)]
    for name in names:
        sim.add_image(name)

    # When
    pages = list(client.get_paginator("describe_images").paginate(PaginationConfig={"PageSize": 2}))

    # Then
    assert [len(page["Images"]) for page in pages] == page_sizes
    assert [image["Name"] for page in pages for image in page["Images"]] == names
    assert "NextToken" not in pages[-1]
    assert [call.params["MaxResults"] for call in sim.calls] == [2] * len(page_sizes)


def test_a_forged_next_token_is_a_validation_error(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")

    # When
    with pytest.raises(ClientError) as raised:
        client.describe_images(NextToken="not-a-token")

    # Then
    assert error_code(raised.value) == "ValidationException"
    assert len(sim.violations) == 1


def test_the_type_filter_matches_visibility(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("Mine")
    sim.add_image("AppStream-WinServer2022-01-01-2026", visibility="PUBLIC")
    sim.add_image("FromPartner", visibility="SHARED")

    # When
    by_type = {
        kind: [i["Name"] for i in client.describe_images(Type=kind)["Images"]]
        for kind in ("PRIVATE", "PUBLIC", "SHARED")
    }

    # Then
    assert by_type == {
        "PRIVATE": ["Mine"],
        "PUBLIC": ["AppStream-WinServer2022-01-01-2026"],
        "SHARED": ["FromPartner"],
    }
    assert sim.images["AppStream-WinServer2022-01-01-2026"]["Arn"] == (
        "arn:aws:appstream:us-east-1::image/AppStream-WinServer2022-01-01-2026"
    )


def test_names_and_arns_together_are_refused(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    image = sim.add_image("SalesApps")

    # When
    with pytest.raises(client.exceptions.InvalidParameterCombinationException):
        client.describe_images(Names=["SalesApps"], Arns=[image["Arn"]])

    # Then
    assert sim.calls[-1].error == "InvalidParameterCombinationException"


def test_add_image_refuses_what_appstream_could_not_return() -> None:
    # Given
    sim = SimulatedAppStream()

    # When / Then
    with pytest.raises(ValueError, match="AppstreamAgentVersion"):
        sim.add_image("SalesApps", agent_version="")
