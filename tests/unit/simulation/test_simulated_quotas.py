"""Service Quotas: concurrent updates, images and image builders, as CreateUpdatedImage
meets them."""

from __future__ import annotations

from typing import Any

import pytest

from rehearsal.appstream import SimulatedAppStream
from tests.unit.simulation.support import state_of


def test_the_concurrent_update_quota_is_enforced(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.set_quota(concurrent_updates=2)
    for name in ("A", "B", "C"):
        sim.add_image(name)
    client.create_updated_image(existingImageName="A", newImageName="A-1")
    client.create_updated_image(existingImageName="B", newImageName="B-1")

    # When
    with pytest.raises(client.exceptions.LimitExceededException):
        client.create_updated_image(existingImageName="C", newImageName="C-1")

    # Then
    assert sim.updates_in_progress() == ["A-1", "B-1"]
    assert sim.max_concurrent_updates_seen == 2


def test_a_finished_update_frees_its_place_in_the_quota(
    sim: SimulatedAppStream, client: Any
) -> None:
    # Given
    sim.set_quota(concurrent_updates=1)
    sim.add_image("A")
    sim.add_image("B")
    sim.script_update("A", polls=1)
    client.create_updated_image(existingImageName="A", newImageName="A-1")
    state_of(client, "A-1")

    # When
    created = client.create_updated_image(existingImageName="B", newImageName="B-1")

    # Then
    assert created["image"]["State"] == "PENDING"
    assert sim.max_concurrent_updates_seen == 1


def test_the_image_quota_is_enforced(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.set_quota(images=2)
    sim.add_image("A")
    sim.add_image("B")
    sim.add_image("AppStream-WinServer2022-01-01-2026", visibility="PUBLIC")  # not ours

    # When
    with pytest.raises(client.exceptions.LimitExceededException) as raised:
        client.create_updated_image(existingImageName="A", newImageName="A-1")

    # Then
    assert "images" in raised.value.response["Error"]["Message"]
    assert "A-1" not in sim.images


def test_an_update_needs_a_free_image_builder(sim: SimulatedAppStream, client: Any) -> None:
    # Given the account runs 9 image builders of its default quota of 10, and one update
    sim.set_image_builders(9)
    sim.add_image("A")
    sim.add_image("B")
    client.create_updated_image(existingImageName="A", newImageName="A-1")

    # When a second update would need an eleventh builder
    with pytest.raises(client.exceptions.LimitExceededException) as raised:
        client.create_updated_image(existingImageName="B", newImageName="B-1")

    # Then AppStream names the image builder quota
    assert "image builders" in str(raised.value)
