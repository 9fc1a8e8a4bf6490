"""Managed image updates: dry runs, scripted builds that end on a poll or on the clock, and
the images AppStream refuses to update."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rehearsal.appstream import SimulatedAppStream
from tests.unit.simulation.support import START, ManualClock, can_update, error_code, state_of


def test_dry_run_reports_availability_and_creates_nothing(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps", updates_available=True)
    sim.add_image("UpToDate", updates_available=False)

    # When
    sales = client.create_updated_image(
        existingImageName="SalesApps", newImageName="SalesApps-1", dryRun=True
    )
    up_to_date = client.create_updated_image(
        existingImageName="UpToDate", newImageName="UpToDate-1", dryRun=True
    )

    # Then
    assert sales["canUpdateImage"] is True
    # AWS documents only the availability for a dry run: nothing may rely on an image
    assert "image" not in sales
    assert up_to_date["canUpdateImage"] is False
    assert sorted(sim.images) == ["SalesApps", "UpToDate"]
    assert sim.updates_in_progress() == []


def test_set_updates_available_changes_the_dry_run_answer(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps", updates_available=True)

    # When
    sim.set_updates_available("SalesApps", False)

    # Then
    assert can_update(client, "SalesApps", "SalesApps-1") is False


def test_an_update_becomes_available_on_the_third_poll_with_a_newer_agent(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    source = sim.add_image("SalesApps", agent_version="1.1.1000")

    # When
    created = client.create_updated_image(
        existingImageName="SalesApps",
        newImageName="SalesApps-20260105",
        newImageDescription="Updated by the image updater",
        newImageDisplayName="Sales apps",
        newImageTags={"image-updater:root": "SalesApps"},
    )
    listed = client.describe_images()["Images"]  # not naming the image: no poll
    states = [state_of(client, "SalesApps-20260105") for _ in range(3)]

    # Then
    image = created["image"]
    assert created["canUpdateImage"] is True
    assert image["State"] == "PENDING"
    assert image["BaseImageArn"] == source["Arn"]
    assert image["Description"] == "Updated by the image updater"
    assert image["DisplayName"] == "Sales apps"
    assert "ImageBuilderName" not in image
    assert [i["State"] for i in listed] == ["AVAILABLE", "PENDING"]
    assert states == ["PENDING", "PENDING", "AVAILABLE"]
    final = sim.images["SalesApps-20260105"]
    assert final["AppstreamAgentVersion"] == "1.1.1001"
    assert sim.tags("SalesApps-20260105") == {"image-updater:root": "SalesApps"}
    tags = client.list_tags_for_resource(ResourceArn=image["Arn"])["Tags"]
    assert tags == {"image-updater:root": "SalesApps"}
    assert sim.violations == []


def test_an_updated_image_has_no_further_updates(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.script_update("SalesApps", polls=1)
    client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-2")
    state_of(client, "SalesApps-2")

    # When
    offered = can_update(client, "SalesApps-2", "SalesApps-3")

    # Then
    assert offered is False


def test_a_scripted_failure_carries_its_reason_and_errors(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.script_update(
        "SalesApps",
        polls=1,
        outcome="FAILED",
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message="Windows Update failed.",
        errors=[("INTERNAL_SERVICE_ERROR", "The image builder stopped.")],
    )
    client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # When
    image = client.describe_images(Names=["SalesApps-1"])["Images"][0]

    # Then
    assert image["State"] == "FAILED"
    assert image["StateChangeReason"] == {
        "Code": "IMAGE_UPDATE_FAILURE",
        "Message": "Windows Update failed.",
    }
    assert image["ImageErrors"] == [
        {
            "ErrorCode": "INTERNAL_SERVICE_ERROR",
            "ErrorMessage": "The image builder stopped.",
            "ErrorTimestamp": START,
        }
    ]
    assert sim.updates_in_progress() == []


def test_a_failure_without_listed_errors_reports_an_internal_service_error(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.script_update("SalesApps", polls=1, outcome="FAILED")
    client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # When
    image = client.describe_images(Names=["SalesApps-1"])["Images"][0]

    # Then
    assert [error["ErrorCode"] for error in image["ImageErrors"]] == ["INTERNAL_SERVICE_ERROR"]


def test_a_timed_update_finishes_when_the_clock_says_so(
    sim: SimulatedAppStream, client: Any, clock: ManualClock
) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.script_update("SalesApps", duration=timedelta(hours=2))
    client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # When
    early = [state_of(client, "SalesApps-1") for _ in range(5)]
    clock.advance(timedelta(hours=1, minutes=59))
    almost = state_of(client, "SalesApps-1")
    clock.advance(timedelta(minutes=1))
    due = state_of(client, "SalesApps-1")

    # Then
    assert early == ["PENDING"] * 5
    assert almost == "PENDING"
    assert due == "AVAILABLE"


def test_an_existing_name_is_refused(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.add_image("SalesApps-1")

    # When
    with pytest.raises(client.exceptions.ResourceAlreadyExistsException):
        client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # Then
    assert sim.updates_in_progress() == []


def test_reserved_name_prefixes_are_a_violation(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")

    # When
    with pytest.raises(ClientError) as raised:
        client.create_updated_image(existingImageName="SalesApps", newImageName="AWSSales")

    # Then
    assert error_code(raised.value) == "ValidationException"
    assert "AWSSales" in sim.violations[0]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ({"visibility": "SHARED"}, "OperationNotPermittedException"),
        ({"visibility": "PUBLIC"}, "OperationNotPermittedException"),
        ({"platform": "AMAZON_LINUX2"}, "IncompatibleImageException"),
        ({"state": "PENDING"}, "OperationNotPermittedException"),
    ],
)
def test_images_that_cannot_be_updated_are_refused(
    sim: SimulatedAppStream, client: Any, image: dict[str, Any], expected: str
) -> None:
    # Given
    sim.add_image("Source", **image)

    # When
    with pytest.raises(getattr(client.exceptions, expected)):
        client.create_updated_image(
            existingImageName="Source", newImageName="Source-1", dryRun=True
        )

    # Then
    assert sim.calls[-1].error == expected
    assert sim.violations == []


@pytest.mark.parametrize(
    ("platform", "updatable"),
    [
        ("WINDOWS_SERVER_2022", True),
        ("WINDOWS_SERVER_2025", True),
        ("RHEL8", True),
        ("ROCKY_LINUX8", True),
        ("AMAZON_LINUX2", False),
        ("UBUNTU_PRO_2404", False),
    ],
)
def test_managed_updates_are_offered_for_the_documented_platforms(
    sim: SimulatedAppStream, client: Any, platform: str, updatable: bool
) -> None:
    # Given an image of the platform
    sim.add_image("Img", platform=platform)

    # When / Then
    if updatable:
        answer = client.create_updated_image(
            existingImageName="Img", newImageName="Img-1", dryRun=True
        )
        assert answer["canUpdateImage"] is True
    else:
        with pytest.raises(client.exceptions.IncompatibleImageException):
            client.create_updated_image(existingImageName="Img", newImageName="Img-1", dryRun=True)
