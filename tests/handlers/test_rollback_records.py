"""Rollback records in the ledger (the real records module on moto's DynamoDB) and the fleets
adapter that keeps them, against the simulated AppStream: the record holds the previous
image's ARN, the fleet's tags only mirror it, and UpdateFleet's "not found" is told apart."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from image_updater.errors import LedgerUnavailable
from image_updater.integrations.appstream.fleets import (
    AppStreamFleets,
    FleetImageNotFound,
    FleetNotFound,
)
from image_updater.rollout.models import (
    FOLLOWS_TAG,
    PREVIOUS_IMAGE_TAG,
    ROLLED_OUT_TAG,
    STAGE_TAG,
    FleetFacts,
)
from image_updater.rollout.records import RollbackRecord, RollbackRecords, disagreement
from rehearsal.appstream import SimulatedAppStream
from tests.handlers.conftest import ACCOUNT, IMAGE_ARN, ROOT, ledger_items

NEW = f"{ROOT}-20260601-030000"
OTHER_ACCOUNT = "444455556666"
TAGS = {FOLLOWS_TAG: ROOT, STAGE_TAG: "canary"}


def record(**changes: Any) -> RollbackRecord:
    values: dict[str, Any] = {
        "fleet": "Canary",
        "previous_image": ROOT,
        "previous_image_arn": IMAGE_ARN + ROOT,
        "rolled_out": NEW,
        "execution_id": "run-1",
        "recorded_at": "2026-06-01T04:00:00+00:00",
        **changes,
    }
    return RollbackRecord(**values)


def fleet(name: str = "Canary") -> FleetFacts:
    (found,) = AppStreamFleets().fleets([name])
    return found


def test_a_record_is_kept_whole_never_expires_and_is_forgotten_on_request(
    ledger_table: str,
) -> None:
    # Given two fleets' records
    records = RollbackRecords()
    records.put(record())
    records.put(record(fleet="Prod", previous_image_arn=None))

    # Then each is read back as written, in the records' partition, with no expiry
    assert records.get("Canary") == record()
    assert records.get("Prod") == record(fleet="Prod", previous_image_arn=None)
    assert {r.fleet for r in records.every()} == {"Canary", "Prod"}
    assert all(item["pk"] == {"S": "#rollback"} for item in ledger_items())
    assert all("expiresAt" not in item for item in ledger_items())

    # When one is forgotten, only it goes
    records.forget("Canary")
    assert records.get("Canary") is None
    assert [r.fleet for r in records.every()] == ["Prod"]


def test_a_ledger_that_cannot_be_reached_is_said_so_for_the_workflow_to_retry(
    ledger_table: str,
) -> None:
    records = RollbackRecords("no-such-table", boto3.client("dynamodb"))
    with pytest.raises(LedgerUnavailable, match="ResourceNotFoundException"):
        records.get("Canary")


def test_tags_that_do_not_show_the_record_are_a_disagreement() -> None:
    mirror = record().mirror()
    assert disagreement(record(), mirror) is None
    # the mirror may name the image by name or by ARN
    assert disagreement(record(), {**mirror, PREVIOUS_IMAGE_TAG: IMAGE_ARN + ROOT}) is None
    rewritten = disagreement(record(), {**mirror, PREVIOUS_IMAGE_TAG: "Evil"})
    assert rewritten and "'Evil'" in rewritten and f"'{ROOT}'" in rewritten
    assert disagreement(record(), {**mirror, ROLLED_OUT_TAG: "Other"})
    assert disagreement(record(), {})  # removed


def canary_on_the_root(sim: SimulatedAppStream) -> AppStreamFleets:
    """Given-step: the root image, and the fleet Canary on it (by name), tagged to follow it."""
    sim.add_image(ROOT)
    sim.add_fleet("Canary", image=ROOT, tags=TAGS)
    return AppStreamFleets()


def test_the_previous_image_is_recorded_by_arn_in_the_ledger_and_mirrored_on_the_fleet(
    sim: SimulatedAppStream, ledger_table: str
) -> None:
    # Given a canary that names its image by name only
    fleets = canary_on_the_root(sim)

    # When the updater records its previous image
    fleets.record_previous_image(fleet(), NEW, "run-7")

    # Then the ledger holds the image's ARN and the run; the tags show the same
    kept = RollbackRecords().get("Canary")
    assert kept is not None
    assert (kept.previous_image, kept.previous_image_arn) == (ROOT, IMAGE_ARN + ROOT)
    assert (kept.rolled_out, kept.execution_id) == (NEW, "run-7")
    assert sim.fleet_tags("Canary") == {**TAGS, PREVIOUS_IMAGE_TAG: ROOT, ROLLED_OUT_TAG: NEW}

    # and forgetting it removes both
    fleets.forget_previous_image(fleet())
    assert RollbackRecords().get("Canary") is None
    assert sim.fleet_tags("Canary") == TAGS


def test_update_fleet_tells_a_missing_fleet_from_a_missing_image(
    sim: SimulatedAppStream, ledger_table: str
) -> None:
    # Given a fleet, and an image that does not exist
    fleets = canary_on_the_root(sim)

    # When / Then UpdateFleet with a missing image says the image, and leaves the fleet
    with pytest.raises(FleetImageNotFound, match=r"image Gone was not found.*fleet Canary"):
        fleets.set_image("Canary", "Gone")
    with pytest.raises(FleetImageNotFound, match="image arn:aws:appstream:"):
        fleets.set_image("Canary", f"{IMAGE_ARN}Gone")
    assert sim.fleets["Canary"]["ImageName"] == ROOT

    # and with a missing fleet says the fleet
    with pytest.raises(FleetNotFound, match="fleet Deleted no longer exists") as gone:
        fleets.set_image("Deleted", ROOT)
    assert not isinstance(gone.value, FleetImageNotFound)


def test_a_shared_image_is_put_on_a_fleet_by_its_arn_only(
    sim: SimulatedAppStream, ledger_table: str
) -> None:
    # Given an image another account shares with this one
    shared = sim.add_image("Shared", visibility="SHARED", owner_account=OTHER_ACCOUNT)
    sim.add_image(ROOT)
    sim.add_fleet("Canary", image=ROOT, tags=TAGS)
    assert shared["Arn"] == f"arn:aws:appstream:us-east-1:{OTHER_ACCOUNT}:image/Shared"
    fleets = AppStreamFleets()

    # When / Then by name AppStream looks in this account and does not find it
    with pytest.raises(FleetImageNotFound, match=f"for account {ACCOUNT} does not exist"):
        fleets.set_image("Canary", "Shared")
    # and by ARN the fleet goes to it
    fleets.set_image("Canary", shared["Arn"])
    assert sim.fleets["Canary"]["ImageArn"] == shared["Arn"]


def test_retention_sees_rollback_targets_in_the_ledger_and_in_the_tags(
    sim: SimulatedAppStream, ledger_table: str
) -> None:
    # Given Canary's record in the ledger, its mirror tags removed by someone; Prod's previous
    # image only in its tags (changed by a version that kept the record in tags); a record
    # of a fleet that no longer exists
    sim.add_image(ROOT)
    sim.add_fleet("Canary", image=ROOT, tags=TAGS)
    sim.add_fleet("Prod", image=ROOT, tags={**TAGS, PREVIOUS_IMAGE_TAG: "Older"})
    RollbackRecords().put(record(previous_image="Kept", previous_image_arn=IMAGE_ARN + "Kept"))
    RollbackRecords().put(record(fleet="Deleted", previous_image="Freed", previous_image_arn=None))

    # When
    targets = AppStreamFleets().rollback_targets()

    # Then the ledger's record protects its image (by name and ARN) whatever the tags say,
    # the tag protects too, and a deleted fleet's record protects nothing
    assert targets == {"Kept": ["Canary"], IMAGE_ARN + "Kept": ["Canary"], "Older": ["Prod"]}
