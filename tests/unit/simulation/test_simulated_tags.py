"""Tags on images and fleets: listed, set, removed and held to AppStream's limits."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rehearsal.appstream import SimulatedAppStream, SimulationError
from tests.unit.simulation.support import ARN_PREFIX, FLEET_ARN_PREFIX, error_code


def test_untagged_and_unknown_resources(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    image = sim.add_image("SalesApps")

    # When
    tags = client.list_tags_for_resource(ResourceArn=image["Arn"])["Tags"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_tags_for_resource(ResourceArn=ARN_PREFIX + "Missing")

    # Then
    assert tags == {}


def test_fleet_tags_are_set_listed_and_removed(
    sim: SimulatedAppStream, client: Any, prod: str
) -> None:
    # Given
    arn = FLEET_ARN_PREFIX + prod
    sim.set_fleet_tags(prod, {"owner": "sales", "stage": "test"})

    # When
    before = client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    client.tag_resource(ResourceArn=arn, Tags={"stage": "prod", "cost-centre": "42"})
    client.untag_resource(ResourceArn=arn, TagKeys=["owner", "never-set"])
    after = client.list_tags_for_resource(ResourceArn=arn)["Tags"]

    # Then
    assert before == {"owner": "sales", "stage": "test"}
    assert after == {"stage": "prod", "cost-centre": "42"}
    assert sim.fleet_tags(prod) == after
    assert sim.tags("Old") == {}  # the image's tags are its own
    assert sim.violations == []


def test_image_tags_are_changed_by_tag_and_untag_resource(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    image = sim.add_image("SalesApps", tags={"image-updater:root": "SalesApps"})

    # When
    client.tag_resource(ResourceArn=image["Arn"], Tags={"owner": "sales"})
    client.untag_resource(ResourceArn=image["Arn"], TagKeys=["image-updater:root"])

    # Then
    assert sim.tags("SalesApps") == {"owner": "sales"}
    assert client.list_tags_for_resource(ResourceArn=image["Arn"])["Tags"] == {"owner": "sales"}


@pytest.mark.parametrize("operation", ["list", "tag", "untag"])
def test_tagging_an_unknown_fleet_is_not_found(
    sim: SimulatedAppStream, client: Any, prod: str, operation: str
) -> None:
    # Given
    arn = FLEET_ARN_PREFIX + "Missing"
    calls = {
        "list": lambda: client.list_tags_for_resource(ResourceArn=arn),
        "tag": lambda: client.tag_resource(ResourceArn=arn, Tags={"a": "b"}),
        "untag": lambda: client.untag_resource(ResourceArn=arn, TagKeys=["a"]),
    }

    # When / Then
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        calls[operation]()


def test_a_resource_holds_at_most_50_tags(sim: SimulatedAppStream, client: Any, prod: str) -> None:
    # Given a fleet with 49 tags
    arn = FLEET_ARN_PREFIX + prod
    sim.set_fleet_tags(prod, {f"key{index}": "v" for index in range(49)})

    # When two more would make 51, while one more and a changed one make 50
    with pytest.raises(client.exceptions.LimitExceededException):
        client.tag_resource(ResourceArn=arn, Tags={"new1": "v", "new2": "v"})
    unchanged = sim.fleet_tags(prod)
    client.tag_resource(ResourceArn=arn, Tags={"new1": "v", "key0": "changed"})

    # Then
    assert len(unchanged) == 49
    tags = sim.fleet_tags(prod)
    assert len(tags) == 50
    assert tags["key0"] == "changed"
    assert sim.violations == []


def test_aws_prefixed_tag_keys_are_refused(sim: SimulatedAppStream, client: Any, prod: str) -> None:
    # When
    with pytest.raises(ClientError) as raised:
        client.tag_resource(ResourceArn=FLEET_ARN_PREFIX + prod, Tags={"aws:owner": "sales"})

    # Then: the model's TagKey pattern refuses it, as it refuses it in newImageTags
    assert error_code(raised.value) == "ValidationException"
    assert "regular expression pattern" in sim.violations[0]
    assert sim.fleet_tags(prod) == {}


def test_scripted_fleet_tags_are_held_to_the_model(sim: SimulatedAppStream, prod: str) -> None:
    # When / Then
    with pytest.raises(SimulationError):
        sim.set_fleet_tags(prod, {"aws:owner": "sales"})
    with pytest.raises(SimulationError):
        sim.add_fleet("Big", tags={f"key{index}": "v" for index in range(51)})
    assert sorted(sim.fleets) == [prod]
