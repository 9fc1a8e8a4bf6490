"""Fleets: DescribeFleets, UpdateFleet and the fleets a test scripts."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rehearsal.appstream import SimulatedAppStream, SimulationError
from tests.unit.simulation.support import ARN_PREFIX, FLEET_ARN_PREFIX, error_code, fleet_of


@pytest.mark.parametrize("by", ["ImageName", "ImageArn"])
def test_update_fleet_moves_the_fleet_to_the_image_by_name_or_arn(
    sim: SimulatedAppStream, client: Any, prod: str, by: str
) -> None:
    # Given
    new = sim.images["New"]
    image = {"ImageName": "New", "ImageArn": new["Arn"]}[by]

    # When
    answer = client.update_fleet(Name=prod, **{by: image})

    # Then both show, whichever the request named, in the answer and in DescribeFleets
    assert answer["Fleet"]["ImageName"] == "New"
    assert answer["Fleet"]["ImageArn"] == new["Arn"]
    assert fleet_of(client, prod) == answer["Fleet"]
    assert sim.fleet_updates == [(prod, "New")]
    assert sim.calls[-2].params == {"Name": prod, by: image}
    assert sim.violations == []


def test_update_fleet_of_an_unknown_fleet_is_not_found(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # When
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.update_fleet(Name="Typo", ImageName="New")

    # Then
    assert raised.value.response["Error"]["Message"] == "Fleet Typo not found."
    assert sim.fleet_updates == []


def test_update_fleet_with_both_image_name_and_arn_is_refused(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # When
    with pytest.raises(client.exceptions.InvalidParameterCombinationException):
        client.update_fleet(Name=prod, ImageName="New", ImageArn=sim.images["New"]["Arn"])

    # Then
    assert sim.fleets[prod]["ImageName"] == "Old"
    assert sim.fleet_updates == []


@pytest.mark.parametrize(
    "image", [{"ImageName": "Missing"}, {"ImageArn": ARN_PREFIX + "Missing"}], ids=["name", "arn"]
)
def test_update_fleet_to_an_unknown_image_is_not_found(
    sim: SimulatedAppStream, client: Any, prod: str, image: dict[str, str]
) -> None:
    # When
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.update_fleet(Name=prod, **image)

    # Then
    assert sim.fleets[prod]["ImageName"] == "Old"
    assert sim.fleet_updates == []


@pytest.mark.parametrize("state", ["PENDING", "FAILED"])
def test_update_fleet_to_an_image_that_is_not_available_is_refused(
    sim: SimulatedAppStream, client: Any, prod: str, state: str
) -> None:
    # Given
    sim.add_image("Unready", state=state)

    # When
    with pytest.raises(client.exceptions.ResourceNotAvailableException) as raised:
        client.update_fleet(Name=prod, ImageName="Unready")

    # Then
    assert state in raised.value.response["Error"]["Message"]
    assert sim.fleets[prod]["ImageName"] == "Old"


def test_update_fleet_to_an_image_still_being_built_is_refused(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # Given an update of New that is still running
    client.create_updated_image(existingImageName="New", newImageName="New-1")

    # When
    with pytest.raises(client.exceptions.ResourceNotAvailableException):
        client.update_fleet(Name=prod, ImageName="New-1")

    # Then
    assert sim.fleet_updates == []


def test_an_elastic_fleet_takes_no_image(sim: SimulatedAppStream, client: Any, prod: str) -> None:
    # Given
    sim.add_fleet("Elastic", fleet_type="ELASTIC", desired=20)

    # When
    with pytest.raises(client.exceptions.InvalidParameterCombinationException) as raised:
        client.update_fleet(Name="Elastic", ImageName="New")

    # Then
    assert "app blocks" in raised.value.response["Error"]["Message"]
    fleet = fleet_of(client, "Elastic")
    assert "ImageName" not in fleet
    assert "ImageArn" not in fleet
    assert fleet["MaxConcurrentSessions"] == 20


def test_an_elastic_fleet_cannot_be_scripted_with_an_image(sim: SimulatedAppStream) -> None:
    # Given
    sim.add_image("New")
    sim.add_fleet("Elastic", fleet_type="ELASTIC")

    # When / Then
    with pytest.raises(SimulationError):
        sim.add_fleet("Elastic2", fleet_type="ELASTIC", image="New")
    with pytest.raises(SimulationError):
        sim.set_fleet_image("Elastic", "New")
    assert sorted(sim.fleets) == ["Elastic"]
    assert "ImageName" not in sim.fleets["Elastic"]


@pytest.mark.parametrize("state", ["STARTING", "STOPPING"])
def test_a_fleet_starting_or_stopping_cannot_be_updated(
    sim: SimulatedAppStream, client: Any, state: str
) -> None:
    # Given
    sim.add_image("Old")
    sim.add_image("New")
    sim.add_fleet("Prod", image="Old", state=state)

    # When
    with pytest.raises(client.exceptions.ConcurrentModificationException):
        client.update_fleet(Name="Prod", ImageName="New")

    # Then
    assert sim.fleets["Prod"]["ImageName"] == "Old"
    assert sim.fleet_updates == []


def test_a_running_fleet_cannot_move_to_another_platform(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # Given
    sim.add_image("Linux", platform="AMAZON_LINUX2")

    # When
    with pytest.raises(client.exceptions.IncompatibleImageException):
        client.update_fleet(Name=prod, ImageName="Linux")

    # Then
    fleet = fleet_of(client, prod)
    assert (fleet["ImageName"], fleet["Platform"]) == ("Old", "WINDOWS_SERVER_2022")


def test_a_stopped_fleet_moves_to_another_platform(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("Old")
    sim.add_image("Linux", platform="AMAZON_LINUX2")
    sim.add_fleet("Prod", image="Old", state="STOPPED")

    # When
    answer = client.update_fleet(Name="Prod", ImageName="Linux")

    # Then
    assert answer["Fleet"]["Platform"] == "AMAZON_LINUX2"
    assert fleet_of(client, "Prod")["ImageName"] == "Linux"
    assert sim.fleet_updates == [("Prod", "Linux")]


def test_update_fleet_members_the_simulation_does_not_model_are_loud(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # Given an injected failure, which must not hide the gap in the simulation
    sim.fail("UpdateFleet", "ThrottlingException")

    # When
    with pytest.raises(ClientError) as raised:
        client.update_fleet(Name=prod, ImageName="New", ComputeCapacity={"DesiredInstances": 2})

    # Then
    assert error_code(raised.value) == "UnsupportedParameter"
    assert sim.violations == ["UpdateFleet: the simulation does not model ComputeCapacity"]
    assert sim.fleets[prod]["ImageName"] == "Old"


def test_update_fleet_without_a_name_is_a_violation(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # When: the model marks no member required, so botocore sends it
    with pytest.raises(ClientError) as raised:
        client.update_fleet(ImageName="New")

    # Then
    assert error_code(raised.value) == "ValidationException"
    assert sim.violations == ["UpdateFleet: Name is required"]
    assert sim.fleet_updates == []


@pytest.mark.parametrize("by_arn", [False, True], ids=["by-name", "by-arn"])
def test_an_image_a_fleet_was_moved_to_cannot_be_deleted(
    sim: SimulatedAppStream, client: Any, prod: str, by_arn: bool
) -> None:
    # Given
    target = {"ImageArn": sim.images["New"]["Arn"]} if by_arn else {"ImageName": "New"}
    client.update_fleet(Name=prod, **target)

    # When
    with pytest.raises(client.exceptions.ResourceInUseException):
        client.delete_image(Name="New")
    client.delete_image(Name="Old")  # no longer in use

    # Then
    assert sim.deleted == ["Old"]
    assert "New" in sim.images


def test_describe_fleets_shows_what_the_fleet_was_added_with(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("Rhel", platform="RHEL8")
    added = sim.add_fleet(
        "Multi", image="Rhel", platform="RHEL8", desired=4, running=3, max_sessions_per_instance=5
    )
    sim.add_fleet("Stopped", fleet_type="ON_DEMAND", state="STOPPED", desired=2)

    # When
    multi, stopped = client.describe_fleets(Names=["Multi", "Stopped"])["Fleets"]

    # Then
    assert multi == added
    assert multi["Arn"] == FLEET_ARN_PREFIX + "Multi"
    assert multi["Platform"] == "RHEL8"
    assert (multi["FleetType"], multi["State"]) == ("ALWAYS_ON", "RUNNING")
    assert multi["ComputeCapacityStatus"] == {"Desired": 4, "Running": 3}
    assert multi["MaxSessionsPerInstance"] == 5
    assert "FleetErrors" not in multi
    assert (stopped["FleetType"], stopped["State"]) == ("ON_DEMAND", "STOPPED")
    assert stopped["ComputeCapacityStatus"] == {"Desired": 2, "Running": 0}
    assert "MaxSessionsPerInstance" not in stopped


def test_set_fleet_health_shows_in_describe_fleets(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # Given
    sim.set_fleet_health(
        prod,
        errors=[("IMAGE_NOT_FOUND", "The image was not found."), ("FLEET_STOPPED", "Stopped.")],
        running=0,
    )

    # When
    unhealthy = fleet_of(client, prod)
    sim.set_fleet_health(prod, errors=[], running=1)
    recovered = fleet_of(client, prod)
    sim.set_fleet_health(prod, state="STOPPED")
    stopped = fleet_of(client, prod)

    # Then
    assert unhealthy["FleetErrors"] == [
        {"ErrorCode": "IMAGE_NOT_FOUND", "ErrorMessage": "The image was not found."},
        {"ErrorCode": "FLEET_STOPPED", "ErrorMessage": "Stopped."},
    ]
    assert unhealthy["ComputeCapacityStatus"] == {"Desired": 1, "Running": 0}
    assert unhealthy["State"] == "RUNNING"
    assert "FleetErrors" not in recovered
    assert recovered["ComputeCapacityStatus"] == {"Desired": 1, "Running": 1}
    # a stopped fleet runs no instances
    assert (stopped["State"], stopped["ComputeCapacityStatus"]["Running"]) == ("STOPPED", 0)


@pytest.mark.parametrize(
    "health",
    [
        {"errors": [("NO_SUCH_ERROR", "x")]},
        {"errors": [("INTERNAL_SERVICE_ERROR", "")]},
        {"state": "PAUSED"},
        {"state": "STOPPED", "running": 1},
    ],
    ids=["unknown-code", "empty-message", "unknown-state", "stopped-but-running"],
)
def test_set_fleet_health_refuses_what_appstream_could_not_return(
    sim: SimulatedAppStream, prod: str, health: dict[str, Any]
) -> None:
    # When
    with pytest.raises(SimulationError):
        sim.set_fleet_health(prod, **health)

    # Then nothing changed
    assert sim.fleets[prod]["State"] == "RUNNING"
    assert "FleetErrors" not in sim.fleets[prod]
