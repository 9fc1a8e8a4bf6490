"""Several Regions of one account, CopyImage between them, and image permissions (shares)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from rehearsal.appstream import SimulatedAppStream
from tests.unit.simulation.support import ManualClock, error_code, state_of

A, B = "111122223333", "444455556666"


def regional(region: str, **config: Any) -> Any:
    return boto3.client(
        "appstream",
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config) if config else None,
    )


def copy_to(client: Any, region: str, name: str = "Sales-1", **extra: Any) -> Any:
    return client.copy_image(
        SourceImageName=name, DestinationImageName=name, DestinationRegion=region, **extra
    )


def test_each_region_has_its_own_images(sim: SimulatedAppStream, client: Any) -> None:
    # Given an image in us-east-1 and another in eu-west-1
    sim.add_image("Home")
    sim.in_region("eu-west-1").add_image("Away")

    # When each Region's client lists its images
    home = [i["Name"] for i in client.describe_images()["Images"]]
    away = regional("eu-west-1").describe_images()["Images"]

    # Then each sees its own, with its Region in the ARN, and each Region records its calls
    assert home == ["Home"]
    assert [i["Name"] for i in away] == ["Away"]
    assert away[0]["Arn"] == "arn:aws:appstream:eu-west-1:123456789012:image/Away"
    assert [c.operation for c in sim.in_region("eu-west-1").calls] == ["DescribeImages"]
    assert sim.in_region("us-east-1") is sim


def test_a_copy_keeps_name_and_description_not_tags_and_becomes_available(
    sim: SimulatedAppStream, client: Any, clock: ManualClock
) -> None:
    # Given a tagged image, and copies into eu-west-1 that take an hour
    sim.add_image("Sales-1", tags={"lineage": "Sales"}, description="Sales (updater)")
    europe = sim.in_region("eu-west-1")
    europe.script_copies(duration=timedelta(hours=1))
    eu_client = regional("eu-west-1")

    # When it is copied with its description
    answer = copy_to(client, "eu-west-1", DestinationImageDescription="Sales (updater)")
    copying = state_of(eu_client, "Sales-1")
    clock.advance(timedelta(hours=1))
    (copied,) = eu_client.describe_images(Names=["Sales-1"])["Images"]

    # Then the copy is COPYING, then AVAILABLE, described, untagged, in its own Region
    assert answer["DestinationImageName"] == "Sales-1"
    assert copying == "COPYING"
    assert copied["State"] == "AVAILABLE"
    assert copied["Description"] == "Sales (updater)"
    assert copied["Arn"] == "arn:aws:appstream:eu-west-1:123456789012:image/Sales-1"
    assert eu_client.list_tags_for_resource(ResourceArn=copied["Arn"])["Tags"] == {}
    assert sim.tags("Sales-1") == {"lineage": "Sales"}


def test_copy_refusals(sim: SimulatedAppStream, client: Any) -> None:
    # Given an image being built, a missing one, and a name taken in the destination
    sim.add_image("Building", state="PENDING")
    sim.add_image("Sales-1")
    sim.in_region("eu-west-1").add_image("Sales-1")

    def refused(**params: Any) -> str:
        with pytest.raises(ClientError) as raised:
            client.copy_image(**params)
        return error_code(raised.value)

    # Then each is refused with the error AppStream's model lists for it
    assert refused(
        SourceImageName="Building", DestinationImageName="B", DestinationRegion="eu-west-1"
    ) == ("ResourceNotAvailableException")
    assert (
        refused(SourceImageName="Gone", DestinationImageName="G", DestinationRegion="eu-west-1")
        == "ResourceNotFoundException"
    )
    assert (
        refused(
            SourceImageName="Sales-1", DestinationImageName="Sales-1", DestinationRegion="eu-west-1"
        )
        == "ResourceAlreadyExistsException"
    )
    assert (
        refused(
            SourceImageName="Sales-1", DestinationImageName="S", DestinationRegion="mars-north-1"
        )
        == "ValidationException"
    )


def test_two_copies_at_once_per_destination(sim: SimulatedAppStream, client: Any) -> None:
    # Given three images, copies that stay COPYING, and a client that does not re-send
    for name in ("S-1", "S-2", "S-3"):
        sim.add_image(name)
    sim.in_region("eu-west-1").script_copies(duration=timedelta(hours=1))
    once = regional("us-east-1", retries={"mode": "standard", "total_max_attempts": 1})

    # When three are copied to eu-west-1 and one to eu-central-1
    copy_to(once, "eu-west-1", "S-1")
    copy_to(once, "eu-west-1", "S-2")
    with pytest.raises(ClientError) as third:
        copy_to(once, "eu-west-1", "S-3")
    copy_to(once, "eu-central-1", "S-3")

    # Then the third into one destination is over the quota; another destination has room
    assert error_code(third.value) == "LimitExceededException"
    assert set(sim.in_region("eu-west-1").images) == {"S-1", "S-2"}
    assert set(sim.in_region("eu-central-1").images) == {"S-3"}


def test_a_lost_copy_response_still_made_the_copy(sim: SimulatedAppStream) -> None:
    # Given a copy whose answer is lost, with a client that does not re-send
    sim.add_image("Sales-1")
    sim.lose_responses("CopyImage")
    once = regional("us-east-1", retries={"mode": "standard", "total_max_attempts": 1})

    # When
    with pytest.raises(ReadTimeoutError):
        copy_to(once, "eu-west-1")

    # Then the copy exists all the same
    assert sim.in_region("eu-west-1").images["Sales-1"]["State"] == "COPYING"
    assert [c.error for c in sim.calls] == ["ReadTimeoutError"]


def test_shares_are_set_listed_changed_and_removed(sim: SimulatedAppStream, client: Any) -> None:
    # Given an image
    sim.add_image("Sales-1")

    # When it is shared with two accounts, one of them twice with other permissions
    for account, fleet in ((A, True), (B, True), (B, False)):
        client.update_image_permissions(
            Name="Sales-1",
            SharedAccountId=account,
            ImagePermissions={"allowFleet": fleet, "allowImageBuilder": False},
        )
    listed = client.describe_image_permissions(Name="Sales-1")["SharedImagePermissionsList"]
    only_b = client.describe_image_permissions(Name="Sales-1", SharedAwsAccountIds=[B])
    flagged = client.describe_images(Names=["Sales-1"])["Images"][0]["ImageSharedWithOthers"]
    client.delete_image_permissions(Name="Sales-1", SharedAccountId=A)
    client.delete_image_permissions(Name="Sales-1", SharedAccountId=B)

    # Then
    assert listed == [
        {
            "sharedAccountId": A,
            "imagePermissions": {"allowFleet": True, "allowImageBuilder": False},
        },
        {
            "sharedAccountId": B,
            "imagePermissions": {"allowFleet": False, "allowImageBuilder": False},
        },
    ]
    assert [p["sharedAccountId"] for p in only_b["SharedImagePermissionsList"]] == [B]
    assert flagged == "TRUE"
    assert sim.shares("Sales-1") == {}
    assert "ImageSharedWithOthers" not in sim.images["Sales-1"]


def test_share_refusals(sim: SimulatedAppStream, client: Any) -> None:
    # Given a missing image, one still COPYING, and one shared with 100 accounts
    sim.add_image("Copying", state="COPYING")
    sim.add_image("Full")
    for n in range(100):
        sim.share_image("Full", f"{n:012d}")
    permissions = {"allowFleet": True, "allowImageBuilder": False}

    def refused(call: Any, **params: Any) -> str:
        with pytest.raises(ClientError) as raised:
            call(**params)
        return error_code(raised.value)

    # Then
    update = client.update_image_permissions
    assert refused(update, Name="Gone", SharedAccountId=A, ImagePermissions=permissions) == (
        "ResourceNotFoundException"
    )
    assert refused(update, Name="Copying", SharedAccountId=A, ImagePermissions=permissions) == (
        "ResourceNotAvailableException"
    )
    assert refused(update, Name="Full", SharedAccountId=A, ImagePermissions=permissions) == (
        "LimitExceededException"
    )
    # An account it is shared with already may still change its permissions
    update(Name="Full", SharedAccountId=f"{7:012d}", ImagePermissions=permissions)
    assert refused(client.delete_image_permissions, Name="Full", SharedAccountId=A) == (
        "ResourceNotFoundException"
    )
    assert refused(client.describe_image_permissions, Name="Gone") == "ResourceNotFoundException"
