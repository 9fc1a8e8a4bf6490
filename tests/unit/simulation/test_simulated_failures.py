"""Injected failures: counted, targeted, recorded and cleared."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from rehearsal.appstream import SimulatedAppStream
from tests.unit.simulation.support import START, error_code, new_client


def test_a_cleared_failure_fails_no_further_call(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.fail("DescribeImages", "ResourceInUseException", calls=None)
    with pytest.raises(ClientError):
        client.describe_images(Names=["SalesApps"])

    # When
    sim.clear_failures("DescribeImages")

    # Then
    assert client.describe_images(Names=["SalesApps"])["Images"]


def test_injected_errors_count_down_and_are_recorded(sim: SimulatedAppStream) -> None:
    # Given two calls that fail, sent by a client that sends each call at most 3 times
    sim.add_image("SalesApps")
    sim.fail("DescribeImages", "ThrottlingException", calls=2, message="Rate exceeded")
    client = new_client(Config(retries={"mode": "standard", "total_max_attempts": 3}))

    # When
    codes = []
    for _ in range(3):
        try:
            client.describe_images(Names=["SalesApps"])
            codes.append(None)
        except ClientError as error:
            codes.append(error_code(error))

    # Then each failing call failed on every send, and every send is recorded
    assert codes == ["ThrottlingException", "ThrottlingException", None]
    throttled = ("ThrottlingException",) * 3
    assert [call.error for call in sim.calls] == [*throttled, *throttled, None]
    assert [call.attempt for call in sim.calls] == [1, 2, 3, 1, 2, 3, 1]
    assert sim.calls[0].params == {"Names": ["SalesApps"]}
    assert sim.calls[0].timestamp == START


def test_injected_errors_can_target_some_calls(sim: SimulatedAppStream, client: Any) -> None:
    # Given
    sim.add_image("SalesApps")
    sim.fail(
        "CreateUpdatedImage",
        "ConcurrentModificationException",
        calls=None,
        when=lambda params: not params.get("dryRun", False),
    )

    # When (ConcurrentModificationException is no error botocore re-sends)
    dry_run = client.create_updated_image(
        existingImageName="SalesApps", newImageName="SalesApps-1", dryRun=True
    )
    with pytest.raises(client.exceptions.ConcurrentModificationException):
        client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")
    with pytest.raises(client.exceptions.ConcurrentModificationException):
        client.create_updated_image(existingImageName="SalesApps", newImageName="SalesApps-1")

    # Then
    assert dry_run["canUpdateImage"] is True
    assert [call.error for call in sim.calls] == [
        None,
        "ConcurrentModificationException",
        "ConcurrentModificationException",
    ]
    assert "SalesApps-1" not in sim.images
