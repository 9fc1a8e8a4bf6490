"""The simulation's `lag_listing` knob: a listing that shows a new image only a while after
AppStream accepted its create (AWS does not document that it lists it at once)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rehearsal.appstream import SimulatedAppStream
from tests.unit.simulation.support import START, ManualClock, new_client


@pytest.fixture
def sim(sim: SimulatedAppStream) -> Iterator[SimulatedAppStream]:
    """The shared simulation, which no test here may make refuse a request."""
    yield sim
    assert sim.violations == []


def test_an_accepted_create_is_listed_and_found_by_name_only_after_the_lag(
    sim: SimulatedAppStream, clock: ManualClock
) -> None:
    # Given a listing that lags 5 minutes, and an update AppStream has just accepted
    sim.add_image("Base", created_time=START - timedelta(days=1))
    sim.lag_listing(timedelta(minutes=5))
    client: Any = new_client()
    client.create_updated_image(existingImageName="Base", newImageName="Base-1")

    # When / Then it is neither listed nor found by name for 5 minutes
    clock.advance(timedelta(minutes=4))
    listed = client.describe_images(Type="PRIVATE")["Images"]
    assert [image["Name"] for image in listed] == ["Base"]
    with pytest.raises(ClientError) as raised:
        client.describe_images(Names=["Base-1"])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # and its name is taken all the same
    with pytest.raises(ClientError) as taken:
        client.create_updated_image(existingImageName="Base", newImageName="Base-1")
    assert taken.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"

    # and then it is
    clock.advance(timedelta(minutes=1))
    listed = client.describe_images(Type="PRIVATE")["Images"]
    assert [image["Name"] for image in listed] == ["Base", "Base-1"]
