"""The distribute handler against the simulation: copies between Regions of the account (found
by name and marker before one is made), re-tagged once AVAILABLE, and shares per Region."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from image_updater.domain import naming
from image_updater.errors import AppStreamUnreachable
from image_updater.handlers.distribute import handler
from image_updater.integrations.appstream.client import default_client
from image_updater.integrations.appstream.regional import (
    CopyNameTaken,
    CopyQuotaExceeded,
    regional_client,
)
from rehearsal.appstream import SimulatedAppStream
from tests.handlers.conftest import (
    CONFIGURED_TAGS,
    DERIVED,
    EXECUTION_ARN,
    ROOT,
    LambdaContext,
    lineage_tags,
)

EUROPE = "eu-west-1"
A, B = "111122223333", "444455556666"
DESCRIPTION = f"ImgA with updates, built 2026-01-05 {naming.DESCRIPTION_MARKER}"


@pytest.fixture(autouse=True)
def fresh_regional_clients(sim: SimulatedAppStream) -> Iterator[None]:
    regional_client.cache_clear()
    yield
    regional_client.cache_clear()
    default_client.cache_clear()


@pytest.fixture
def ready(sim: SimulatedAppStream) -> SimulatedAppStream:
    """The hub's new image, ready, with its lineage tags and the configured ones."""
    sim.add_image(
        DERIVED, description=DESCRIPTION, tags={**lineage_tags(), **CONFIGURED_TAGS, "x": "y"}
    )
    return sim


def item(region: str | None = EUROPE, **changes: Any) -> dict[str, Any]:
    return {
        "rootImageName": ROOT,
        "newImageName": DERIVED,
        "executionId": EXECUTION_ARN,
        "region": region,
        "shares": [
            {"accountId": A, "allowFleet": True, "allowImageBuilder": False},
            {"accountId": B, "allowFleet": True, "allowImageBuilder": True},
        ],
        **changes,
    }


def step(action: str, task: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = handler({"task": task, "action": action}, LambdaContext())
    return result


def test_copy_check_and_share_in_another_region(ready: SimulatedAppStream) -> None:
    # Given the ready image in the hub's Region
    europe = ready.in_region(EUROPE)

    # When it is copied, checked until AVAILABLE, then shared there
    copied = step("copy", item())
    checks = [step("check", copied)]
    while checks[-1]["state"] == "COPYING":
        checks.append(step("check", checks[-1]))
    shared = step("share", checks[-1])

    # Then one copy, with the same name and description, the lineage and configured tags
    # (not the hub image's others), shared with both accounts as configured
    assert copied["state"] == "COPYING"
    assert [c["state"] for c in checks] == ["COPYING", "AVAILABLE"]
    assert [c.operation for c in ready.calls].count("CopyImage") == 1
    image = europe.images[DERIVED]
    assert image["Description"] == DESCRIPTION
    assert europe.tags(DERIVED) == {**lineage_tags(), **CONFIGURED_TAGS}
    assert europe.shares(DERIVED) == {
        A: {"allowFleet": True, "allowImageBuilder": False},
        B: {"allowFleet": True, "allowImageBuilder": True},
    }
    assert shared["shared"] == [
        {"accountId": A, "shared": True, "reason": None},
        {"accountId": B, "shared": True, "reason": None},
    ]
    assert ready.shares(DERIVED) == {}


def test_home_region_shares_without_copying(ready: SimulatedAppStream) -> None:
    shared = step("share", item(region=None, state="AVAILABLE"))

    assert [s["shared"] for s in shared["shared"]] == [True, True]
    assert set(ready.shares(DERIVED)) == {A, B}
    assert "CopyImage" not in [c.operation for c in ready.calls]


def test_a_lost_copy_answer_is_retried_without_a_second_copy(ready: SimulatedAppStream) -> None:
    # Given CopyImage's answer is lost on the way back
    ready.lose_responses("CopyImage")

    # When the step fails (the workflow retries it) and is run again
    with pytest.raises(AppStreamUnreachable):
        step("copy", item())
    again = step("copy", item())

    # Then the retry found the copy: CopyImage was sent once, never re-sent by the SDK
    assert again["state"] == "COPYING"
    copies = [c for c in ready.calls if c.operation == "CopyImage"]
    assert [(c.error, c.attempt) for c in copies] == [("ReadTimeoutError", 1)]


def test_a_same_named_image_without_the_marker_is_never_touched(
    ready: SimulatedAppStream,
) -> None:
    # Given eu-west-1 already has an image of that name that someone else made
    ready.in_region(EUROPE).add_image(DERIVED, description="hand-made")

    # When the copy step and then the share step run
    copied = step("copy", item())
    shared = step("share", copied)

    # Then nothing is copied, tagged or shared there, and the reason is reported
    assert copied["state"] == "NOT_OURS"
    assert "did not make" in copied["reason"]
    assert [s["shared"] for s in shared["shared"]] == [False, False]
    operations = {c.operation for c in ready.in_region(EUROPE).calls}
    assert operations == {"DescribeImages"}
    assert "CopyImage" not in {c.operation for c in ready.calls}


def test_the_copy_quota_is_left_to_the_workflow(ready: SimulatedAppStream) -> None:
    # Given eu-west-1 takes no copy now
    ready.in_region(EUROPE).set_copy_quota(0)

    # When / Then the named error the workflow retries with backoff, sent once
    with pytest.raises(CopyQuotaExceeded):
        step("copy", item())
    assert [c.attempt for c in ready.calls if c.operation == "CopyImage"] == [1]


def test_a_name_taken_between_look_and_copy_is_retried(ready: SimulatedAppStream) -> None:
    ready.fail("CopyImage", "ResourceAlreadyExistsException")

    with pytest.raises(CopyNameTaken):
        step("copy", item())


def test_a_failed_copy_and_a_refused_share_are_reported(ready: SimulatedAppStream) -> None:
    # Given copies into eu-west-1 fail, and account B's share is refused at home
    ready.in_region(EUROPE).script_copies(outcome="FAILED")
    ready.fail(
        "UpdateImagePermissions",
        "ResourceNotAvailableException",
        when=lambda params: params["SharedAccountId"] == B,
    )

    # When
    checks = [step("check", step("copy", item()))]
    while checks[-1]["state"] == "COPYING":
        checks.append(step("check", checks[-1]))
    not_shared = step("share", checks[-1])
    home = step("share", item(region=None, state="AVAILABLE"))

    # Then the copy's failure, each account's share, and the other account still shared
    assert checks[-1]["state"] == "FAILED"
    assert "The image copy failed." in checks[-1]["reason"]
    assert [s["shared"] for s in not_shared["shared"]] == [False, False]
    assert home["shared"][0] == {"accountId": A, "shared": True, "reason": None}
    assert home["shared"][1]["shared"] is False
    assert "ResourceNotAvailableException" in home["shared"][1]["reason"]
