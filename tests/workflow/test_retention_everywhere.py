"""Retention across Regions and accounts through the synthesized workflow: a hub with one copy
Region sharing with two accounts; one spoke still runs the old image, the other does not:
only the latter's shares are removed, and the old image (in both Regions) is deleted only once
neither account uses it."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache

import pytest

from image_updater.domain import naming
from image_updater.integrations.appstream import consumers
from rehearsal.appstream import Organisation, SimulatedAppStream
from rehearsal.runner import WorkflowRunner
from tests.spokes import deploy_spoke
from tests.workflow.conftest import EMAILS, Timeline

pytestmark = pytest.mark.workflow

HOME, COPIES = "us-east-1", "eu-west-1"
A, B = "111122223333", "444455556666"
HUB = "123456789012"


@cache
def hub() -> WorkflowRunner:
    return WorkflowRunner(
        {
            "imageNames": "Base",
            "notificationEmails": EMAILS,
            "keepImages": "1",
            "copyToRegions": COPIES,
            "shareWithAccounts": json.dumps([{"accountId": A}, {"accountId": B}]),
        }
    )


def member(sim: SimulatedAppStream, created: object, **kwargs: object) -> str:
    name = f"Base-{created:%Y%m%d-%H%M%S}"
    for region in (sim, sim.in_region(COPIES)):
        region.add_image(
            name,
            created_time=created,
            tags={naming.LINEAGE_ROOT_TAG: "Base", naming.SOURCE_IMAGE_TAG: "Base"},
            description=naming.new_image_description("Base", created),  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )
        if region is sim:
            kwargs = {**kwargs, "updates_available": False}
    return name


def test_only_the_account_done_with_the_old_image_is_unshared_and_it_goes_once_both_are(
    sim: SimulatedAppStream, timeline: Timeline
) -> None:
    # Given the lineage's old image, in the hub's Region and copied to eu-west-1, shared with
    # A and B in both; and its newest image, with an update available
    old = member(sim, timeline.now() - timedelta(days=60), updates_available=False)
    newest = member(sim, timeline.now() - timedelta(days=10), updates_available=True)
    for region in (sim, sim.in_region(COPIES)):
        region.share_image(old, A)
        region.share_image(old, B)
    organisation = Organisation(sim)
    consumers.regional.cache_clear()
    with hub().account(sim) as account, organisation.active():
        # and a spoke in each account and Region: A's fleets still run the old image
        spokes = {
            (who, region): deploy_spoke(organisation, who, region)[0]
            for who in (A, B)
            for region in (HOME, COPIES)
        }
        for region in (HOME, COPIES):
            spokes[A, region].receive_shared_image(old, owner_account=HUB)
            spokes[A, region].add_fleet("Prod", image=old, by_arn=True)

        # When a run settles an update of the lineage (here: reports the newest image, an
        # earlier run's update; retention follows every settled update)
        first = account.run(timeline.clock)

        # Then in both Regions only B's share of the old image was removed; nothing deleted
        assert first.status == "SUCCEEDED", first.cause
        for region in (sim, sim.in_region(COPIES)):
            assert set(region.shares(old)) == {A}, region.region
            assert old not in region.deleted
        ready = first.emails[0].body
        assert f"{A}, which runs it on fleet Prod" in ready
        assert "Unshared (the account was read" in ready and f"{old} from {B}" in ready
        assert f"Copies in {COPIES}:" in ready

        # Given A's fleets no longer run the old image, and the next update is due
        for region in (HOME, COPIES):
            spokes[A, region].set_fleet_image("Prod", None)
        timeline.next_run()

        # When the next run updates the newest image and that update settles
        second = account.run(timeline.clock)
        assert [n for n in sim.images if n not in (old, newest)], "no update was built"

    # Then the old image was unshared from A and deleted in both Regions
    assert second.status == "SUCCEEDED", second.cause
    for region in (sim, sim.in_region(COPIES)):
        assert old in region.deleted, region.region
    assert organisation.violations == []
