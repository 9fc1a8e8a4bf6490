"""A run stopped mid-distribution, and the next run that finishes it: the ledger's distribution
item (lambdas/image_updater/distribution/owed.py) says the image's distribution is owed until
its "distributed" e-mail went out, and the next run, finding the stopped run (and its child for
the image) no longer RUNNING, takes it over: each copy made once, every share, one e-mail."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import boto3
import pytest

from image_updater.distribution.owed import distribution_key
from image_updater.handlers.distribute import RECORD
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import DeployedAccount, Execution, Invocation, LambdaContext
from rehearsal.runner.clients import client
from rehearsal.runner.lambdas import handler_for
from tests.workflow.conftest import AddImage, Timeline
from tests.workflow.steps import imga_has_an_update_imgb_none
from tests.workflow.test_distribution import EUROPE, TOKYO, A, B, C, distributing, new_image

pytestmark = pytest.mark.workflow

DISTRIBUTED = "AppStream image updater: {} distributed"


def stop_at_the_first_copy(stopped: list[str]) -> Callable[[Invocation, timedelta], None]:
    """An admin stops the run (StopExecution) right after its first CopyImage step, and AWS's
    best-effort stop of the run's .sync:2 child succeeds (the runner does not model it: the
    child is stopped here too)."""

    def listener(invocation: Invocation, _: timedelta) -> None:
        event = invocation.event
        if stopped or invocation.step != "distribute" or event.get("action") != "copy":
            return
        run = event["task"]["executionId"]
        sfn = client("stepfunctions")
        sfn.stop_execution(executionArn=run)
        for machine in sfn.list_state_machines()["stateMachines"]:
            for execution in sfn.list_executions(
                stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
            )["executions"]:
                if execution["executionArn"] != run:
                    sfn.stop_execution(executionArn=execution["executionArn"])
        stopped.append(run)

    return listener


@contextmanager
def owed_distribution(
    sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> Iterator[tuple[DeployedAccount, Execution, str]]:
    """ImgA has an update and copies take 40 minutes; the first run builds ImgA's new image
    and is stopped once a copy started; the lineage then has no update left (the next run
    builds nothing). The deployment, that run and the image."""
    imga_has_an_update_imgb_none(add_image)
    for region in (EUROPE, TOKYO):
        sim.in_region(region).script_copies(duration=timedelta(minutes=40))
    with distributing().account(sim) as account:
        stopped: list[str] = []
        first = account.run(timeline.clock, on_invocation=stop_at_the_first_copy(stopped))
        assert stopped and first.status == "ABORTED", (first.status, first.error, first.cause)
        name = new_image(sim)
        for image in ("ImgA", name):
            sim.set_updates_available(image, False)
        yield account, first, name


def ledger_item(account: DeployedAccount, name: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=account.deployment.ledger_table,
        Key={"pk": {"S": "ImgA"}, "sk": {"S": distribution_key(name)}},
        ConsistentRead=True,
    )["Item"]
    return item


def copies_made(sim: SimulatedAppStream) -> Counter[str]:
    return Counter(
        c.params["DestinationRegion"]
        for c in sim.calls
        if c.operation == "CopyImage" and c.error is None
    )


def test_the_next_run_finishes_a_distribution_a_stopped_run_left_owed(
    sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given ImgA has an update, copies take 40 minutes, and the run that builds it is stopped
    # right after its first copy started
    with owed_distribution(sim, add_image, timeline) as (account, first, name):
        assert not [e for e in first.emails if e.subject == DISTRIBUTED.format(name)]
        assert sum(copies_made(sim).values()) >= 1
        # (stopped before any copy was shared: each copy Region shares after its copy)
        assert sim.in_region(EUROPE).shares(name) == {} == sim.in_region(TOKYO).shares(name)
        owed = ledger_item(account, name)
        assert (owed["status"]["S"], owed["claimer"]["S"]) == (
            "CLAIMED",
            first.children[0].input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
        )

        # When an admin starts a run by hand five minutes later, the copy still COPYING
        timeline.next_run(after=first.elapsed + timedelta(minutes=5))
        copying = {sim.in_region(r).images.get(name, {}).get("State") for r in (EUROPE, TOKYO)}
        assert "COPYING" in copying
        second = account.run(timeline.clock)

        # Then it distributed the image in full: one copy per Region across both runs (the
        # one in flight polled until AVAILABLE), every share, and one "distributed" e-mail,
        # saying it finished the stopped run's
        assert second.status == "SUCCEEDED", second.cause
        assert "Wait for the copy" in second.states
        assert copies_made(sim) == {EUROPE: 1, TOKYO: 1}
        assert set(sim.shares(name)) == {A, C}
        assert set(sim.in_region(EUROPE).shares(name)) == {A, B, C}
        assert set(sim.in_region(TOKYO).shares(name)) == {A, C}
        for region in (EUROPE, TOKYO):
            assert sim.in_region(region).images[name]["State"] == "AVAILABLE"
        (email,) = [e for e in second.emails if e.subject == DISTRIBUTED.format(name)]
        run_name = first.children[0].input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"]
        assert f"owed by the run {run_name.rsplit(':', 1)[-1]}" in email.body
        assert "was copied to 2 Region(s) and shared with 3 account(s)" in email.body
        # the child that did it is the second run's, named as every child is
        run_arn = second.children[0].input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"]
        (resumed,) = [c for c in second.children if c.input["rootImageName"] == "ImgA"]
        assert resumed.name == hashlib.sha256(f"{run_arn} ImgA".encode()).hexdigest()
        assert resumed.input["result"]["resumedFrom"] == run_name
        # and the ledger remembers it sent, so a third run does nothing more
        sent = ledger_item(account, name)
        assert (sent["status"]["S"], sent["claimer"]["S"]) == ("REPORTED", run_arn)
        timeline.next_run()
        third = account.run(timeline.clock)
        assert third.status == "SUCCEEDED"
        assert not [e for e in third.emails if "distributed" in e.subject]
        assert copies_made(sim) == {EUROPE: 1, TOKYO: 1}


def test_a_run_overlapping_the_one_that_took_it_over_leaves_it_alone(
    sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given a distribution a stopped run left owed
    with owed_distribution(sim, add_image, timeline) as (account, _, name):
        # When the next run records what it distributes, and a run started by hand meanwhile
        # records too (its record step right after the scheduled run's)
        by_hand: list[dict[str, Any]] = []

        def meanwhile(invocation: Invocation, _: timedelta) -> None:
            if invocation.step != "distribute" or invocation.event.get("action") != RECORD:
                return
            other = {**invocation.event, "executionArn": invocation.event["executionArn"] + "-2"}
            handler = handler_for("image_updater.handlers.distribute.handler")
            by_hand.append(handler(other, LambdaContext("by-hand-record")))

        timeline.next_run()
        second = account.run(timeline.clock, on_invocation=meanwhile)

        # Then the scheduled run took it over and the run by hand did not (the claimer runs)
        (mine,) = [i for i in second.invocations if i.event.get("action") == RECORD]
        assert [i.get("resumedFrom") is not None for i in mine.result["items"]] == [True, False]
        (theirs,) = by_hand
        assert not [i for i in theirs["items"] if "resumedFrom" in i]
        # and it was distributed once, with one e-mail
        assert second.status == "SUCCEEDED", second.cause
        assert len([e for e in second.emails if e.subject == DISTRIBUTED.format(name)]) == 1
        assert max(copies_made(sim).values()) == 1


def test_an_owed_distribution_whose_image_was_deleted_ends_in_an_email_saying_so(
    sim: SimulatedAppStream, add_image: AddImage, timeline: Timeline
) -> None:
    # Given a distribution a stopped run left owed, and an admin who then unshared and deleted
    # the image in the hub's Region
    with owed_distribution(sim, add_image, timeline) as (account, _, name):
        admin = boto3.client(
            "appstream",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for account_id in sim.shares(name):
            admin.delete_image_permissions(Name=name, SharedAccountId=account_id)
        admin.delete_image(Name=name)
        calls_before = len(sim.calls)

        # When the next run comes
        timeline.next_run()
        second = account.run(timeline.clock)

        # Then nothing is copied or shared, one e-mail says why, and the item is settled
        changes = {"CopyImage", "UpdateImagePermissions", "TagResource"}
        assert not [c for c in sim.calls[calls_before:] if c.operation in changes]
        (email,) = [e for e in second.emails if name in e.subject]
        assert email.subject == (
            f"AppStream image updater: {name} not distributed: it is no longer in us-east-1"
        )
        assert f"{name} is gone in us-east-1" in email.body
        assert "Distribution Failed" in [e["detail-type"] for e in second.events]
        assert second.status == "FAILED" and second.error == "DistributionFailed"
        assert ledger_item(account, name)["status"]["S"] == "REPORTED"
