"""What the service checks and botocore does not: refused, and recorded as violations."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rehearsal.appstream import SimulatedAppStream
from tests.unit.simulation.support import error_code


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"newImageDescription": "d" * 300}, "less than or equal to 256"),
        ({"newImageDisplayName": "n" * 101}, "less than or equal to 100"),
        ({"newImageName": "Sales Apps"}, "regular expression pattern"),
        ({"newImageTags": {"aws:reserved": "x"}}, "regular expression pattern"),
        ({"newImageTags": {}}, "greater than or equal to 1"),
    ],
)
def test_service_side_constraints_are_enforced_and_recorded(
    sim: SimulatedAppStream, client: Any, overrides: dict[str, Any], constraint: str
) -> None:
    # Given
    sim.add_image("SalesApps")
    params = {"existingImageName": "SalesApps", "newImageName": "SalesApps-1", **overrides}

    # When
    with pytest.raises(ClientError) as raised:
        client.create_updated_image(**params)

    # Then: unmodeled, so a plain ClientError
    assert type(raised.value) is ClientError
    assert error_code(raised.value) == "ValidationException"
    assert len(sim.violations) == 1
    assert constraint in sim.violations[0]
    assert sim.updates_in_progress() == []


def test_describe_images_max_results_above_25_is_a_violation(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps")

    # When
    with pytest.raises(ClientError) as raised:
        client.describe_images(MaxResults=26)

    # Then
    assert error_code(raised.value) == "ValidationException"
    assert "MaxResults" in sim.violations[0]
