"""The retain handler beyond the hub's Region, against the simulation: the accounts an old
image is shared with are read through their spokes' reader roles (STS AssumeRole across
simulated accounts: their fleets in the AppStream simulation, their ledgers in moto), a share
is removed only from an account that reads and no longer uses the image, the image is deleted
once no share remains, and each copy Region keeps its own newest copies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from image_updater.domain import naming
from image_updater.handlers.retain import handler
from image_updater.integrations.appstream import consumers
from image_updater.retention.roles import SPOKE_LEDGER_TABLE, reader_role_arn
from image_updater.rollout.records import RollbackRecord, RollbackRecords
from rehearsal.appstream import Organisation, SimulatedAppStream
from tests.handlers.conftest import (
    ACCOUNT,
    REGION,
    ROOT,
    LambdaContext,
    ManualClock,
    lineage_tags,
    new_task,
)
from tests.handlers.test_events import FakeEvents, install
from tests.spokes import deploy_spoke

A, B = "111122223333", "444455556666"
COPIES = "eu-west-1"


@pytest.fixture
def organisation(
    sim: SimulatedAppStream, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Organisation]:
    monkeypatch.setenv("KEEP_IMAGES", "1")
    monkeypatch.setenv("SHARE_ACCOUNTS", f"{A},{B}")
    consumers.regional.cache_clear()
    organisation = Organisation(sim)
    with organisation.active():
        yield organisation
    consumers.regional.cache_clear()
    assert organisation.violations == []


def member(sim: SimulatedAppStream, clock: ManualClock, days: int) -> str:
    """Given an image of the lineage built `days` ago (tagged, described as the updater's)."""
    created = clock.now - timedelta(days=days)
    name = f"{ROOT}-{created:%Y%m%d-%H%M%S}"
    sim.add_image(
        name,
        created_time=created,
        tags=lineage_tags(),
        description=naming.new_image_description(ROOT, created),
        updates_available=False,
    )
    return name


def spoke(organisation: Organisation, account: str, *, role: bool = True) -> SimulatedAppStream:
    """Given a spoke stack in `account` (this Region): its reader role and its ledger."""
    if not role:
        return organisation.account(account)
    found, ledger = deploy_spoke(organisation, account, REGION)
    found.account_state["ledger"] = ledger
    return found


def shared_old_image(sim: SimulatedAppStream, clock: ManualClock) -> tuple[str, str]:
    """Given the lineage's newest image and an older one, both shared with A and B."""
    old, newest = member(sim, clock, 60), member(sim, clock, 10)
    for image in (old, newest):
        sim.share_image(image, A)
        sim.share_image(image, B)
    return old, newest


def shared_with_both_spokes(
    sim: SimulatedAppStream, clock: ManualClock, organisation: Organisation
) -> tuple[str, str]:
    """Given `shared_old_image`, and A and B each with its spoke stack."""
    images = shared_old_image(sim, clock)
    spoke(organisation, A)
    spoke(organisation, B)
    return images


def receive(account: SimulatedAppStream, image: str) -> str:
    """The spoke sees the hub's image shared with it; returns its ARN."""
    received = account.receive_shared_image(image, owner_account=ACCOUNT)
    return str(received["Arn"])


def retain() -> dict[str, Any]:
    result = handler(new_task(), LambdaContext())
    return dict(result["retention"])


def shares(image: str) -> list[str]:
    answer = boto3.client("appstream").describe_image_permissions(Name=image)
    return [p["sharedAccountId"] for p in answer.get("SharedImagePermissionsList", [])]


def test_an_account_whose_fleet_runs_the_old_image_keeps_it_the_other_is_unshared(
    sim: SimulatedAppStream, clock: ManualClock, organisation: Organisation
) -> None:
    # Given A's fleet runs the old image (by ARN), B's fleets run nothing of it
    old, newest = shared_old_image(sim, clock)
    a = spoke(organisation, A)
    receive(a, old)
    a.add_fleet("Prod", image=old, by_arn=True)
    spoke(organisation, B)

    # When retention runs
    retention = retain()

    # Then only B's share of the old image is removed; the image stays, A's reason given
    assert shares(old) == [A]
    assert sorted(shares(newest)) == sorted([A, B])
    assert old not in sim.deleted
    (kept,) = retention["kept"]
    assert kept["name"] == old
    assert f"{A}, which runs it on fleet Prod" in kept["reason"]
    assert retention["unshared"] == [{"name": old, "accountId": B}]


def test_a_rollback_record_in_the_spokes_ledger_keeps_the_share(
    sim: SimulatedAppStream, clock: ManualClock, organisation: Organisation
) -> None:
    # Given A's ledger records the old image as its canary's rollback target (no fleet runs it)
    old, _newest = shared_old_image(sim, clock)
    a = spoke(organisation, A)
    arn = receive(a, old)
    RollbackRecords(SPOKE_LEDGER_TABLE, a.account_state["ledger"]).put(
        RollbackRecord("Canary", old, arn, "ImgA-new", "run-1", clock.now.isoformat())
    )
    spoke(organisation, B)

    # When
    retention = retain()

    # Then A keeps its share and the image stays
    assert shares(old) == [A]
    assert (
        f"{A}, which records it as the rollback target of fleet Canary"
        in retention["kept"][0]["reason"]
    )


def test_an_account_that_cannot_be_read_keeps_the_image_shared_and_says_why(
    sim: SimulatedAppStream, clock: ManualClock, organisation: Organisation
) -> None:
    # Given B has no reader role (no spoke stack, or it was deleted); A does not use the image
    old, _newest = shared_old_image(sim, clock)
    spoke(organisation, A)
    spoke(organisation, B, role=False)

    # When
    retention = retain()

    # Then B's share stays (and the image), A's is removed, and the reason names B and why
    assert shares(old) == [B]
    reason = retention["kept"][0]["reason"]
    assert (
        f"{B}, which could not be read: {reader_role_arn('aws', B, REGION)}: AccessDenied" in reason
    )
    assert old not in sim.deleted


def test_a_throttled_reading_keeps_the_share(
    sim: SimulatedAppStream, clock: ManualClock, organisation: Organisation
) -> None:
    # Given STS throttles AssumeRole into B (every attempt the SDK makes)
    old, _newest = shared_with_both_spokes(sim, clock, organisation)
    organisation.refuse_assume_role(
        reader_role_arn("aws", B, REGION), "Throttling", "Rate exceeded"
    )

    # When
    retention = retain()

    # Then
    assert shares(old) == [B]
    assert "Throttling: Rate exceeded" in retention["kept"][0]["reason"]


def test_when_no_account_uses_it_it_is_unshared_from_both_then_deleted(
    sim: SimulatedAppStream, clock: ManualClock, organisation: Organisation
) -> None:
    # Given both spokes read, neither uses the old image
    old, newest = shared_with_both_spokes(sim, clock, organisation)

    # When
    retention = retain()

    # Then both shares go, then the image; the newest keeps both shares
    assert old in sim.deleted
    assert retention["deleted"] == [old]
    assert sorted(u["accountId"] for u in retention["unshared"]) == sorted([A, B])
    assert sorted(shares(newest)) == sorted([A, B])


@pytest.fixture
def copy_region(organisation: Organisation, monkeypatch: pytest.MonkeyPatch) -> str:
    """Retention in the copy Region (COPIES) too; the images are shared with nobody."""
    monkeypatch.setenv("RETAIN_REGIONS", COPIES)
    monkeypatch.setenv("SHARE_ACCOUNTS", "")
    return COPIES


def copy(sim: SimulatedAppStream, clock: ManualClock, days: int) -> str:
    """Given the hub's image built `days` ago and its tagged copy in the copy Region (same
    name, description and creation time: what CopyImage and the distribution's tagging leave)."""
    name = member(sim, clock, days)
    member(sim.in_region(COPIES), clock, days)
    return name


def test_a_copy_region_keeps_its_newest_copies_and_deletes_older_ones(
    sim: SimulatedAppStream, clock: ManualClock, copy_region: str
) -> None:
    # Given three images, each copied to eu-west-1 (shared with nobody)
    oldest, older, newest = copy(sim, clock, 90), copy(sim, clock, 60), copy(sim, clock, 10)

    # When
    retention = retain()

    # Then each Region keeps its newest (keepImages=1) and deletes the two older ones
    region = sim.in_region(COPIES)
    assert sorted(sim.deleted) == sorted([oldest, older])
    assert sorted(region.deleted) == sorted([oldest, older])
    assert newest not in region.deleted
    (copies,) = retention["regions"]
    assert copies["region"] == COPIES and sorted(copies["deleted"]) == sorted([oldest, older])


def test_a_failed_distribution_never_costs_a_region_its_last_good_copy(
    sim: SimulatedAppStream, clock: ManualClock, copy_region: str
) -> None:
    # Given an older image copied to eu-west-1, and the newest whose copy never arrived there
    older = copy(sim, clock, 60)
    member(sim, clock, 10)

    # When
    retain()

    # Then the hub deletes its older image, but eu-west-1 keeps its only copy
    assert older in sim.deleted
    assert sim.in_region(COPIES).deleted == []


def test_the_images_deleted_event_names_the_copies_deleted_in_every_region(
    sim: SimulatedAppStream, clock: ManualClock, copy_region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three images, each copied to eu-west-1, and an EventBridge that keeps what it gets
    oldest, older = copy(sim, clock, 90), copy(sim, clock, 60)
    copy(sim, clock, 10)
    bus = FakeEvents()
    install(monkeypatch, bus)

    # When
    retain()

    # Then one event lists the two images deleted here and the two copies deleted there (a
    # Region's result is told from a Region's error by its type, not by being a tuple)
    (entry,) = bus.entries
    detail = json.loads(entry["Detail"])
    assert entry["DetailType"] == "Images Deleted"
    assert sorted(image["name"] for image in detail["deletedImages"]) == sorted(
        [oldest, oldest, older, older]
    )
    assert {image["arn"].split(":")[3] for image in detail["deletedImages"]} == {REGION, COPIES}
