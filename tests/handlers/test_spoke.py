"""A spoke's handlers against the simulated consumer account (images shared with it) and moto's
DynamoDB ledger: discover finds the hub's newest image once, whoever else shares look-alikes;
the fleets step puts a fleet on the hub's image by its ARN, and only while the share allows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from image_updater.domain import naming
from image_updater.errors import InvalidExecutionInput
from image_updater.handlers import spoke_discover
from image_updater.integrations.appstream.fleets import FleetRefused
from image_updater.spoke.claims import PARTITION
from image_updater.spoke.fleets import SpokeFleets
from image_updater.spoke.images import HubImages
from rehearsal.appstream import SimulatedAppStream
from tests.handlers.conftest import ACCOUNT, EXECUTION_ARN, ROOT, ManualClock, ledger_items

HUB = "111122223333"
STRANGER = "999988887777"


@pytest.fixture(autouse=True)
def spoke_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_ACCOUNT_ID", HUB)


def shared(
    sim: SimulatedAppStream,
    clock: ManualClock,
    *,
    days_ago: int,
    owner: str = HUB,
    marked: bool = True,
    **kwargs: Any,
) -> str:
    created = clock() - timedelta(days=days_ago)
    name = naming.derived_image_name(ROOT, created)
    description = naming.new_image_description(ROOT, created) if marked else "patched"
    sim.receive_shared_image(
        name, owner_account=owner, description=description, created_time=created, **kwargs
    )
    return name


SCHEDULED = {"images": [ROOT], "dryRun": False, "startedBy": "schedule"}


def discover(
    lambda_context: Any, execution: str = EXECUTION_ARN, run_input: Any = None
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = spoke_discover.handler(
        {"executionId": execution, "input": run_input or SCHEDULED}, lambda_context
    )["results"]
    return results


def test_discover_takes_the_hubs_newest_available_image_once(
    sim: SimulatedAppStream, clock: ManualClock, lambda_context: Any
) -> None:
    # Given the hub shared three images: an old one, a newer one, and a newest still copying
    shared(sim, clock, days_ago=9)
    newer = shared(sim, clock, days_ago=2)
    shared(sim, clock, days_ago=1, state="PENDING")
    # and a stranger shared a look-alike, newer still, and the hub one without the marker
    shared(sim, clock, days_ago=0, owner=STRANGER)
    sim.receive_shared_image(
        naming.derived_image_name(ROOT, clock() - timedelta(hours=1)),
        owner_account=HUB,
        description="patched by hand",
    )

    # When discover runs
    results = discover(lambda_context)

    # Then it found the newest AVAILABLE image of the hub's lineage, by name and ARN
    assert results == [
        {
            "image": ROOT,
            "outcome": "SUCCEEDED",
            "newImageName": newer,
            "newImageArn": f"arn:aws:appstream:us-east-1:{HUB}:image/{newer}",
            "failed": False,
        }
    ]
    # and claimed it in the spoke's partition
    (claim,) = [item for item in ledger_items() if item["pk"]["S"] == PARTITION]
    assert claim["executionId"]["S"] == EXECUTION_ARN
    # and a second run (or one overlapping this one) finds nothing to start
    assert discover(lambda_context, execution=EXECUTION_ARN + "-2") == []
    # while this run, retried, still gets its own claim
    assert discover(lambda_context) == results


def test_discover_finds_the_hubs_copies_when_the_hub_is_this_account(
    sim: SimulatedAppStream,
    clock: ManualClock,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given this account is the hub (a spoke in another Region) holding a copy, and another
    # account shares a newer look-alike
    monkeypatch.setenv("HUB_ACCOUNT_ID", ACCOUNT)
    created = clock() - timedelta(days=1)
    copy = naming.derived_image_name(ROOT, created)
    sim.add_image(
        copy, description=naming.new_image_description(ROOT, created), created_time=created
    )
    shared(sim, clock, days_ago=0, owner=STRANGER)

    # When discover runs / Then the copy is the one
    assert [r["newImageName"] for r in discover(lambda_context)] == [copy]
    listed = {c.params.get("Type") for c in sim.calls if c.operation == "DescribeImages"}
    assert listed == {"SHARED", "PRIVATE"}


def test_nothing_shared_nothing_found(sim: SimulatedAppStream, lambda_context: Any) -> None:
    assert discover(lambda_context) == []
    assert ledger_items() == []


def test_a_fleet_goes_to_the_hubs_image_by_arn_and_not_once_the_share_stops_allowing_fleets(
    sim: SimulatedAppStream, clock: ManualClock
) -> None:
    # Given a fleet on this account's image, and the hub's image shared with it
    sim.add_image("Base")
    sim.add_fleet("Canary", image="Base")
    name = shared(sim, clock, days_ago=1)
    arn = f"arn:aws:appstream:us-east-1:{HUB}:image/{name}"

    # When the roll-out names the hub's image by its name
    SpokeFleets().set_image("Canary", name)

    # Then UpdateFleet was given its ARN
    (update,) = [c for c in sim.calls if c.operation == "UpdateFleet"]
    assert update.params == {"Name": "Canary", "ImageArn": arn}
    assert sim.fleets["Canary"]["ImageArn"] == arn

    # When the hub takes the share's fleet permission away
    sim.change_received_share(name, allow_fleet=False)

    # Then the fleet's desired capacity is 0 (AWS documents it) and UpdateFleet is refused
    assert sim.fleets["Canary"]["ComputeCapacityStatus"]["Desired"] == 0
    sim.add_fleet("Prod", image="Base")
    with pytest.raises(FleetRefused):
        SpokeFleets().set_image("Prod", name)


def test_the_hubs_images_never_include_a_strangers_of_the_same_lineage(
    sim: SimulatedAppStream, clock: ManualClock
) -> None:
    ours = shared(sim, clock, days_ago=3)
    shared(sim, clock, days_ago=1, owner=STRANGER)
    images = HubImages()
    assert [m.name for m in images.lineage_members(ROOT)] == [ours]
    assert images.arn_of(ours) == f"arn:aws:appstream:us-east-1:{HUB}:image/{ours}"


def test_a_dry_run_says_what_it_would_roll_out_and_claims_nothing(
    sim: SimulatedAppStream, clock: ManualClock, lambda_context: Any
) -> None:
    name = shared(sim, clock, days_ago=1)
    answer = spoke_discover.handler(
        {"executionId": EXECUTION_ARN, "input": {"images": [ROOT], "dryRun": True}},
        lambda_context,
    )
    assert answer == {"results": [], "dryRun": True, "newest": {ROOT: name}}
    assert ledger_items() == []
    # and the next real run still rolls it out
    assert [r["newImageName"] for r in discover(lambda_context)] == [name]


def test_an_input_naming_an_image_not_configured_is_refused(
    sim: SimulatedAppStream, lambda_context: Any
) -> None:
    with pytest.raises(InvalidExecutionInput, match="not one of the configured images"):
        discover(lambda_context, run_input={"images": ["Other"], "dryRun": False})
