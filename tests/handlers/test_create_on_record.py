"""The create handler against runs that overlap while AppStream's listing lags behind an
accepted create: the ledger's record of creates (real Ledger on moto's DynamoDB) decides,
and maxConcurrentUpdates holds across runs under the account-wide updates lock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from image_updater.handlers import check, create
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.models import FOLLOW, UPDATE
from rehearsal.appstream import NETWORK_FAILURE, SimulatedAppStream
from tests.handlers.conftest import (
    EXECUTION_ARN,
    ROOT,
    START,
    LambdaContext,
    ManualClock,
    ledger_items,
    new_task,
)
from tests.handlers.steps import old_root, raised_by

SECOND_RUN = EXECUTION_ARN.replace("run-1", "run-2")
SECOND_STARTED_AT = "2026-01-05T03:01:00.000Z"  # a minute after the first run


def real_creates(sim: SimulatedAppStream) -> list[str]:
    """The names of the images AppStream was asked to build (and accepted)."""
    return [
        call.params["newImageName"]
        for call in sim.calls
        if call.operation == "CreateUpdatedImage"
        and not call.params["dryRun"]
        and call.error is None
    ]


def checked(lambda_context: LambdaContext, root: str = ROOT, **task: Any) -> dict[str, Any]:
    result = check.handler({**new_task(root=root), **task}, lambda_context)
    assert result["action"] == UPDATE
    return result


def second_run(lambda_context: LambdaContext, root: str = ROOT) -> dict[str, Any]:
    return checked(lambda_context, root, executionId=SECOND_RUN, startedAt=SECOND_STARTED_AT)


@pytest.fixture
def lagging(sim: SimulatedAppStream) -> SimulatedAppStream:
    """ImgA with updates, and a listing that shows a new image only 5 minutes after."""
    old_root(sim)
    sim.lag_listing(timedelta(minutes=5))
    return sim


# --- the record of a create decides while the listing lags --------------------------------------


def test_a_run_a_minute_after_an_accepted_create_the_listing_does_not_show_waits_for_it(
    lagging: SimulatedAppStream, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    # Given the first run's create was accepted, and a minute later AppStream still does not
    # list the new image, so a second run's check sees nothing under way
    first = create.handler(checked(lambda_context), lambda_context)
    clock.advance(timedelta(minutes=1))
    task = second_run(lambda_context)

    # When the second run's create looks again
    raised = raised_by(create.handler, task, lambda_context)

    # Then the ledger's record holds it back (retried shortly by the state machine)
    assert raised.typename == "LineageBusy"
    assert first["newImageName"] in str(raised.value)
    assert real_creates(lagging) == [first["newImageName"]]

    # and once AppStream lists the image, the retry follows it
    clock.advance(timedelta(minutes=5))
    followed = create.handler(task, lambda_context)
    assert (followed["action"], followed["newImageName"]) == (FOLLOW, first["newImageName"])
    assert real_creates(lagging) == [first["newImageName"]]


def test_a_retry_of_the_same_create_after_a_lost_answer_waits_for_its_own_image(
    lagging: SimulatedAppStream, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    # Given the create was accepted but its answer lost, so Step Functions runs it again
    # while the listing does not show the image yet
    task = checked(lambda_context)
    create.handler(task, lambda_context)

    # When the retry looks again, and again once the image is listed
    with pytest.raises(Exception) as held:
        create.handler(task, lambda_context)
    clock.advance(timedelta(minutes=5))
    followed = create.handler(task, lambda_context)

    # Then it waited for its own image and followed it, and AppStream was asked once only
    assert held.typename == "LineageBusy"
    assert (followed["action"], followed["image"]["name"]) == (FOLLOW, task["newImageName"])
    assert [
        c.params["newImageName"]
        for c in lagging.calls
        if c.operation == "CreateUpdatedImage" and not c.params["dryRun"]
    ] == [task["newImageName"]]


def test_a_create_whose_outcome_is_unknown_holds_the_lineage_15_minutes_then_is_stale(
    sim: SimulatedAppStream, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    # Given the first run's create got no answer at all (the network failed): AppStream may
    # or may not have started it
    old_root(sim)
    task = checked(lambda_context)
    network = {"down": True}
    sim.fail(
        "CreateUpdatedImage",
        NETWORK_FAILURE,
        calls=None,
        when=lambda p: network["down"] and not p["dryRun"],
    )
    with pytest.raises(Exception) as lost:
        create.handler(task, lambda_context)
    assert lost.typename == "AppStreamUnreachable"
    network["down"] = False

    # When a second run comes 14 minutes later, and then one 16 minutes after the record
    clock.advance(timedelta(minutes=14))
    with pytest.raises(Exception) as held:
        create.handler(second_run(lambda_context), lambda_context)
    clock.advance(timedelta(minutes=2))
    started = create.handler(second_run(lambda_context), lambda_context)

    # Then the first is held back (the create may yet appear), the second goes ahead
    assert held.typename == "LineageBusy"
    assert started["action"] == FOLLOW
    assert real_creates(sim) == [started["newImageName"]]


def test_a_create_appstream_refused_for_sure_leaves_no_record(
    sim: SimulatedAppStream, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    # Given AppStream refused the first run's create for quota
    old_root(sim)
    sim.fail("CreateUpdatedImage", "LimitExceededException", when=lambda p: not p["dryRun"])
    with pytest.raises(Exception) as refused:
        create.handler(checked(lambda_context), lambda_context)
    assert refused.typename == "UpdateQuotaExceeded"

    # When a second run comes a minute later
    clock.advance(timedelta(minutes=1))
    started = create.handler(second_run(lambda_context), lambda_context)

    # Then nothing holds it back: the refused create never happened
    assert started["action"] == FOLLOW
    assert real_creates(sim) == [started["newImageName"]]


def test_the_record_names_the_image_its_source_and_run_and_is_marked_accepted(
    lagging: SimulatedAppStream, lambda_context: LambdaContext
) -> None:
    # Given / When
    result = create.handler(checked(lambda_context), lambda_context)

    # Then
    (record,) = [i for i in ledger_items() if i["sk"]["S"].startswith("create#")]
    assert record["pk"]["S"] == "#updates"
    assert record["sk"]["S"] == "create#" + result["newImageName"]
    assert (record["root"]["S"], record["source"]["S"]) == (ROOT, ROOT)
    assert record["run"]["S"] == EXECUTION_ARN
    assert record["recordedAt"]["N"] == str(int(START.timestamp()))
    assert record["accepted"]["BOOL"] is True


# --- maxConcurrentUpdates across runs -----------------------------------------------------------


@pytest.fixture
def two_lineages(sim: SimulatedAppStream, monkeypatch: pytest.MonkeyPatch) -> SimulatedAppStream:
    monkeypatch.setenv("CONFIGURED_IMAGES", '["ImgA", "ImgB"]')
    monkeypatch.setenv("MAX_CONCURRENT_UPDATES", "1")
    old_root(sim)
    sim.add_image("ImgB", created_time=START - timedelta(days=90))
    return sim


def test_a_run_by_hand_between_another_runs_count_and_create_cannot_exceed_the_limit(
    two_lineages: SimulatedAppStream, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given maxConcurrentUpdates=1, and a run by hand whose ImgB create runs exactly between
    # the scheduled run's count of updates in progress (none) and its ImgA create
    ours, theirs = checked(lambda_context), second_run(lambda_context, "ImgB")
    real_start = AppStreamImages.start_update
    by_hand: list[str] = []

    def start_after_the_other_run(self: AppStreamImages, source: str, *args: Any, **kw: Any) -> Any:
        if source == ROOT and not by_hand:
            try:
                by_hand.append(create.handler(theirs, lambda_context)["action"])
            except Exception as error:
                by_hand.append(type(error).__name__)
        return real_start(self, source, *args, **kw)

    monkeypatch.setattr(AppStreamImages, "start_update", start_after_the_other_run)

    # When
    create.handler(ours, lambda_context)

    # Then the run by hand found the account's updates lock taken, and only one update runs
    assert by_hand == ["UpdatesLockBusy"]
    assert real_creates(two_lineages) == [ours["newImageName"]]
    assert two_lineages.max_concurrent_updates_seen == 1


def test_a_create_the_listing_does_not_show_yet_counts_toward_the_limit(
    two_lineages: SimulatedAppStream, clock: ManualClock, lambda_context: LambdaContext
) -> None:
    # Given maxConcurrentUpdates=1, a listing that lags 5 minutes, and the first run's ImgA
    # update accepted a minute ago
    two_lineages.lag_listing(timedelta(minutes=5))
    create.handler(checked(lambda_context), lambda_context)
    clock.advance(timedelta(minutes=1))

    # When a second run would start ImgB's update
    raised = raised_by(create.handler, second_run(lambda_context, "ImgB"), lambda_context)

    # Then the slot is taken by the update on record, though AppStream lists none
    assert raised.typename == "UpdateSlotsBusy"
    assert "ImgA-20260105-030000" in str(raised.value)
    assert two_lineages.updates_in_progress() == ["ImgA-20260105-030000"]
    assert len(real_creates(two_lineages)) == 1
