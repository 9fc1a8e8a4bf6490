"""The rules over the ledger's distribution items (distribution/owed.py), without AWS: which
result may leave the hub, which claim was abandoned, which owed distribution a run takes over,
and the child execution a run started for a lineage."""

from __future__ import annotations

import hashlib

import pytest

from image_updater.distribution.owed import (
    DistributionRecord,
    abandoned,
    child_execution_arn,
    distributable,
    to_resume,
)

ME = "arn:aws:states:us-east-1:123456789012:execution:Updater:run-3"
STOPPED = "arn:aws:states:us-east-1:123456789012:execution:Updater:run-1"
STILL_RUNNING = "arn:aws:states:us-east-1:123456789012:execution:Updater:run-2"
CHILD_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Distribution"


def owed_by(claimer: str) -> DistributionRecord:
    return DistributionRecord("CLAIMED", claimer, "NO_FLEETS")


def nothing_runs(_: str) -> bool:
    return False


@pytest.mark.parametrize(
    ("result", "leaves"),
    [
        ({"newImageName": "ImgA-1", "failed": False, "outcome": "NO_FLEETS"}, True),
        ({"newImageName": "ImgA-1", "failed": False, "outcome": "PRODUCTION_UPDATED"}, True),
        ({"newImageName": "ImgA-1", "failed": True, "outcome": "NO_FLEETS"}, False),
        ({"newImageName": "ImgA-1", "failed": False, "outcome": "ROLLED_BACK"}, False),
        ({"failed": False, "outcome": "NO_UPDATE"}, False),
    ],
)
def test_only_a_new_image_the_hub_is_done_with_is_distributed(
    result: dict[str, object], leaves: bool
) -> None:
    assert distributable(result) is leaves


def test_a_claim_is_abandoned_only_when_its_claimer_runs_no_more_and_is_not_this_run() -> None:
    assert abandoned(owed_by(STOPPED), ME, nothing_runs)
    assert not abandoned(owed_by(STILL_RUNNING), ME, lambda arn: arn == STILL_RUNNING)
    assert not abandoned(owed_by(ME), ME, nothing_runs)  # this run's own (a retried step)
    assert not abandoned(DistributionRecord("REPORTED", STOPPED), ME, nothing_runs)
    assert not abandoned(DistributionRecord("CLAIMED", None), ME, nothing_runs)


def test_the_newest_abandoned_distribution_is_resumed_one_per_lineage() -> None:
    # Given two distributions of ImgA a stopped run left owed, one sent, one a running run holds
    records = {
        "ImgA-20260105-030000": owed_by(STOPPED),
        "ImgA-20260112-030000": owed_by(STOPPED),
        "ImgA-20260119-030000": DistributionRecord("REPORTED", STOPPED),
        "ImgA-20260126-030000": owed_by(STILL_RUNNING),
    }

    # When this run looks
    chosen = to_resume(
        "ImgA", records, ME, lambda arn: arn == STILL_RUNNING, lambda run, root: False
    )

    # Then it takes the newest abandoned one only
    assert chosen == ("ImgA-20260112-030000", owed_by(STOPPED))


def test_a_child_that_outlives_its_stopped_run_keeps_the_distribution() -> None:
    # Given the run that owes ImgA's distribution was stopped, but Step Functions' best-effort
    # stop of its child did not happen: the child still runs (and will send the e-mail itself)
    child = child_execution_arn(CHILD_MACHINE, STOPPED, "ImgA")
    records = {"ImgA-20260105-030000": owed_by(STOPPED)}

    def child_running(run: str, root: str) -> bool:
        return child_execution_arn(CHILD_MACHINE, run, root) == child

    # Then no run takes it over while the child runs; once it has ended, one does
    assert to_resume("ImgA", records, ME, nothing_runs, child_running) is None
    assert to_resume("ImgA", records, ME, nothing_runs, lambda run, root: False) is not None


def test_the_child_execution_is_the_one_the_run_named() -> None:
    # The run names it States.Hash(States.Format('{} {}', $$.Execution.Id, root), 'SHA-256')
    name = hashlib.sha256(f"{STOPPED} ImgA".encode()).hexdigest()
    assert child_execution_arn(CHILD_MACHINE, STOPPED, "ImgA") == (
        f"arn:aws:states:us-east-1:123456789012:execution:Distribution:{name}"
    )
