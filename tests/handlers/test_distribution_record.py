"""The record step (distribute, action `record`) and the ledger's distribution items, against
the AppStream simulation, DynamoDB and Step Functions in moto: each image this run distributes
claimed once, and a distribution a stopped run left owed taken over by one run only."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from image_updater.distribution.ledger import DistributionLedger
from image_updater.distribution.owed import child_execution_arn
from image_updater.handlers.distribute import handler
from rehearsal.appstream import SimulatedAppStream
from tests.handlers.conftest import (
    ACCOUNT,
    DERIVED,
    REGION,
    ROOT,
    START,
    LambdaContext,
    ledger_items,
    lineage_tags,
)

RUN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:ImageUpdater:"
STOPPED, SCHEDULED, BY_HAND = RUN + "run-1", RUN + "run-2", RUN + "run-3"
READY = {"image": ROOT, "newImageName": DERIVED, "outcome": "NO_FLEETS", "failed": False}
NO_UPDATE = {"image": ROOT, "outcome": "NO_UPDATE", "failed": False}


@pytest.fixture
def machines() -> dict[str, str]:
    """The run's state machine and the distribution's, in moto (their executions stay RUNNING
    until stopped)."""
    sfn = boto3.client("stepfunctions")
    role = f"arn:aws:iam::{ACCOUNT}:role/workflow"
    definition = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}})
    return {
        name: sfn.create_state_machine(name=name, definition=definition, roleArn=role)[
            "stateMachineArn"
        ]
        for name in ("ImageUpdater", "Distribution")
    }


def start(machine: str, name: str) -> str:
    arn: str = boto3.client("stepfunctions").start_execution(stateMachineArn=machine, name=name)[
        "executionArn"
    ]
    return arn


def record(
    run: str, machines: dict[str, str], *results: dict[str, Any], dry_run: bool = False
) -> list[dict[str, Any]]:
    answer = handler(
        {
            "task": list(results),
            "action": "record",
            "executionArn": run,
            "distributionMachine": machines["Distribution"],
            "dryRun": dry_run,
        },
        LambdaContext(),
    )
    items: list[dict[str, Any]] = answer["items"]
    return items


@pytest.fixture
def ready(sim: SimulatedAppStream) -> SimulatedAppStream:
    sim.add_image(DERIVED, tags=lineage_tags())
    return sim


def test_an_image_is_claimed_by_the_first_run_that_distributes_it(
    ready: SimulatedAppStream, machines: dict[str, str]
) -> None:
    # When the run records its ready image, its step is retried, and an overlapping run
    # records the same image
    first = record(SCHEDULED, machines, READY)
    again = record(SCHEDULED, machines, READY)
    other = record(BY_HAND, machines, READY)

    # Then the run distributes it (twice asked, one claim), the other run does not
    assert first == again == [READY]
    assert other == [{**READY, "outcome": "DISTRIBUTED_ELSEWHERE"}]
    (item,) = ledger_items()
    assert item["sk"]["S"] == f"distribution#{DERIVED}"
    assert (item["status"]["S"], item["claimer"]["S"]) == ("CLAIMED", SCHEDULED)
    assert item["outcome"]["S"] == "NO_FLEETS" and "expiresAt" not in item


def test_an_owed_distribution_is_taken_over_by_one_run_once_its_run_and_child_ended(
    ready: SimulatedAppStream, machines: dict[str, str]
) -> None:
    # Given a run that claimed the image and its child for it, both still running (and the
    # next scheduled run, running)
    stopped = start(machines["ImageUpdater"], "run-1")
    assert start(machines["ImageUpdater"], "run-2") == SCHEDULED
    record(stopped, machines, READY)
    child = child_execution_arn(machines["Distribution"], stopped, ROOT)
    start(machines["Distribution"], child.rsplit(":", 1)[-1])
    sfn = boto3.client("stepfunctions")

    # When the next run records while both run, then after the run was stopped (its child
    # outliving it), then after the child ended too
    while_running = record(SCHEDULED, machines, NO_UPDATE)
    sfn.stop_execution(executionArn=stopped)
    while_child_runs = record(SCHEDULED, machines, NO_UPDATE)
    sfn.stop_execution(executionArn=child)
    taken = record(SCHEDULED, machines, NO_UPDATE)
    # and a run by hand records right after
    by_hand = record(BY_HAND, machines, NO_UPDATE)

    # Then only the last look of the scheduled run took it over, and the run by hand did not
    assert while_running == while_child_runs == by_hand == [NO_UPDATE]
    assert taken == [{**READY, "resumedFrom": stopped}]
    (item,) = ledger_items()
    assert (item["status"]["S"], item["claimer"]["S"]) == ("CLAIMED", SCHEDULED)


def test_two_runs_that_both_saw_it_abandoned_take_it_over_once() -> None:
    # Given a distribution owed by a stopped run, which two runs both saw abandoned
    ledger = DistributionLedger()
    assert ledger.claim(ROOT, DERIVED, "NO_FLEETS", STOPPED, START)

    # When both write their take-over
    first = ledger.take_over(ROOT, DERIVED, STOPPED, SCHEDULED, START)
    second = ledger.take_over(ROOT, DERIVED, STOPPED, BY_HAND, START)

    # Then one holds it
    assert (first, second) == (True, False)
    assert ledger.records(ROOT)[DERIVED].claimer == SCHEDULED


def test_a_distribution_sent_is_neither_claimed_nor_taken_over_again() -> None:
    ledger = DistributionLedger()
    assert ledger.claim(ROOT, DERIVED, "NO_FLEETS", STOPPED, START)
    boto3.client("dynamodb").update_item(
        TableName="ledger",
        Key={"pk": {"S": ROOT}, "sk": {"S": f"distribution#{DERIVED}"}},
        UpdateExpression="SET #status = :reported",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":reported": {"S": "REPORTED"}},
    )
    assert not ledger.take_over(ROOT, DERIVED, STOPPED, SCHEDULED, START)
    assert not ledger.claim(ROOT, DERIVED, "NO_FLEETS", SCHEDULED, START)


def test_an_owed_distribution_whose_image_is_gone_says_so(
    sim: SimulatedAppStream, machines: dict[str, str]
) -> None:
    # Given a distribution a run that no longer exists left owed, and no such image in the hub
    DistributionLedger().claim(ROOT, DERIVED, "PRODUCTION_UPDATED", STOPPED, START)

    # When the next run records
    (item,) = record(SCHEDULED, machines, NO_UPDATE)

    # Then it takes it over, to e-mail why it is not distributed
    assert item == {
        **READY,
        "outcome": "PRODUCTION_UPDATED",
        "resumedFrom": STOPPED,
        "gone": f"{DERIVED} is gone in {REGION}",
    }


def test_a_dry_run_claims_nothing_and_resumes_nothing(
    ready: SimulatedAppStream, machines: dict[str, str]
) -> None:
    # Given a distribution a stopped run left owed
    DistributionLedger().claim(ROOT, DERIVED, "NO_FLEETS", STOPPED, START)
    before = ledger_items()

    # When a dry run records its ready image of ImgB and ImgA's nothing
    ready_b = {**READY, "image": "ImgB", "newImageName": "ImgB-20260105-030000"}
    items = record(SCHEDULED, machines, ready_b, NO_UPDATE, dry_run=True)

    # Then it goes on with them as they are, and the ledger is as it was
    assert items == [ready_b, NO_UPDATE]
    assert ledger_items() == before
