"""`make rehearse ARGS=organisation`: a hub patching two images, copying each to two Regions
(a child execution per image) and sharing with two accounts, and both spokes rolling the shared
images out; checked on the simulations themselves and on what the rehearsal prints."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from infra.config.distribution import EVENTS_PER_CHILD_EXECUTION, image_distribution_events
from rehearsal import organisation, scale
from rehearsal.__main__ import main
from rehearsal.approvals import APPROVER
from tests.workflow.test_child_executions import distribution_events

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def rehearsed() -> organisation.Organisation:
    return organisation.rehearse()


def test_the_hub_copies_and_shares_each_image_in_every_region(
    rehearsed: organisation.Organisation,
) -> None:
    hub, run = rehearsed.hub, rehearsed.hub_run
    assert run.status == "SUCCEEDED", run.cause
    assert sorted(rehearsed.new_images) == sorted(organisation.IMAGES)
    # (as the hub's run left them: the later cycle's retention unshares some)
    for name in rehearsed.new_images.values():
        distributed = rehearsed.distributed[name]
        assert distributed[organisation.HOME][1] == sorted(organisation.SPOKES)
        assert hub.images[name]
        for region in organisation.COPY_REGIONS:
            state, shares = distributed[region]
            assert state == "AVAILABLE"
            assert shares == sorted(organisation.SPOKES)
    # each image's distribution was a child execution, its history within the synth's budget,
    # and the run's own history grew by a fixed handful per image
    assert [c.status for c in run.children] == ["SUCCEEDED", "SUCCEEDED"]
    budget = image_distribution_events(len(organisation.COPY_REGIONS))
    assert all(len(child.history) <= budget for child in run.children)
    distributing = [
        e
        for e in run.history
        if e["type"].startswith("Task") and "startExecution" in str(e.values())
    ]
    assert 0 < len(distributing) <= EVENTS_PER_CHILD_EXECUTION * len(organisation.IMAGES)


def test_each_spoke_rolls_the_hubs_images_out_by_their_arn(
    rehearsed: organisation.Organisation,
) -> None:
    for account, spoke in rehearsed.spokes.items():
        run = rehearsed.spoke_runs[account]
        assert run.status == "SUCCEEDED", run.cause
        for fleet, state in rehearsed.rolled_out[account].items():
            image = fleet.rsplit("-", 1)[0]
            name = rehearsed.new_images[image]
            assert state["ImageArn"] == (
                f"arn:aws:appstream:us-east-1:{organisation.HUB}:image/{name}"
            )
        kinds = [email.subject.split(":")[0] for email in run.emails]
        assert sorted(kinds) == (
            ["AppStream canary fleets updated"] * 2
            + ["AppStream production fleets updated"] * 2
            + ["Approval needed"] * 2
        )
        # each image's production came after a person approved it, in this spoke's run
        assert kinds.index("Approval needed") < kinds.index("AppStream production fleets updated")
        approvals = rehearsed.approvals[account]
        assert sorted(a.image for a in approvals) == sorted(organisation.IMAGES)
        assert len(run.approvals) == 2
        for approval in approvals:
            assert approval.approver == APPROVER
            assert approval.answered - approval.asked == timedelta(hours=2)
            assert approval.printed.startswith("Approved the roll-out of")
        # a spoke never changes an image
        changing = {"CreateUpdatedImage", "CopyImage", "DeleteImage", "UpdateImagePermissions"}
        assert not changing & {c.operation for c in spoke.calls}


def test_the_rehearsal_prints_each_region_and_account(
    rehearsed: organisation.Organisation, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = organisation.report(rehearsed)
    text = "\n".join(lines)
    for region in organisation.COPY_REGIONS:
        shared = ", ".join(organisation.SPOKES)
        assert len(re.findall(rf"^    {region} +AVAILABLE +shared with {shared}$", text, re.M)) == 2
    for account in organisation.SPOKES:
        assert f"Spoke {account} (us-east-1): run SUCCEEDED" in text
    assert text.count("(owner 123456789012)") == 8
    approved = rf"^  approval of \w+: asked \d\d:\d\d UTC, approved \d\d:\d\d UTC by {APPROVER}$"
    assert len(re.findall(approved, text, re.M)) == 4
    # and `make rehearse ARGS=organisation` is this rehearsal
    assert main(["--list"]) == 0
    assert "organisation" in capsys.readouterr().out


def test_the_paper_figures_count_what_the_childs_history_shows(
    rehearsed: organisation.Organisation,
) -> None:
    # Given each image's copies to 2 Regions, checked until done
    copy_regions = len(organisation.COPY_REGIONS)
    for child in rehearsed.hub_run.children:
        checks = [
            e
            for e in child.history
            if e.get("stateEnteredEventDetails", {}).get("name") == "Check the copy"
        ]
        assert checks
        entered = [e for e in child.history if "stateEnteredEventDetails" in e]
        invoked = [
            e
            for e in child.history
            if e["type"] == "TaskScheduled"
            and e["taskScheduledEventDetails"]["resourceType"] == "lambda"
        ]
        # Then rehearsal/scale.py's arithmetic is what the executions did
        assert len(entered) == scale.child_states(copy_regions, len(checks))
        assert len(invoked) == scale.child_invocations(copy_regions, len(checks))
    run_events = distribution_events(rehearsed.hub_run.history)
    assert run_events == scale.RUN_MAP_EVENTS + scale.RUN_EVENTS_PER_IMAGE * len(
        organisation.IMAGES
    )


def test_the_hubs_later_retention_keeps_what_a_spoke_still_runs(
    rehearsed: organisation.Organisation,
) -> None:
    # Given the first cycle's images running on both spokes' fleets, except that one spoke
    # moved its EngineeringTools fleets back to its own image
    later = rehearsed.later
    assert later is not None
    using, moved = organisation.SPOKES[0], organisation.MOVES_AWAY
    # When the hub's next run (keepImages 1) patches each image again
    assert later.run.status == "SUCCEEDED", later.run.cause
    assert sorted(later.new_images) == sorted(organisation.IMAGES)
    hub = rehearsed.hub
    # Then retention read each spoke through its reader role: an image a spoke still runs is
    # kept, and only the account done with it is unshared
    sales, tools = later.old_images["SalesApps"], later.old_images[organisation.MOVED]
    assert sorted(hub.shares(sales)) == sorted(organisation.SPOKES)
    assert sorted(hub.shares(tools)) == [using]
    for region in (hub, *(hub.in_region(r) for r in organisation.COPY_REGIONS)):
        assert sales not in region.deleted and tools not in region.deleted
    ready = next(
        e.body for e in later.run.emails if e.subject.endswith(later.new_images[organisation.MOVED])
    )
    assert f"account {using}, which runs it on fleet EngineeringTools-canary" in ready
    assert f"{tools} from {moved}" in ready
    # and the rehearsal prints it, per Region and account
    text = "\n".join(organisation.report(rehearsed))
    assert f"kept because: shared with account {using}, which runs it on fleet" in text
    assert re.search(rf"^    us-east-1 +kept, shared with {using}$", text, re.M)
