"""The simulated account run-now status is tested against: AppStream answered at the HTTP
layer by the simulation (`rehearsal.appstream`), CloudFormation, DynamoDB (the ledger),
EventBridge Scheduler, Step Functions and Service Quotas by moto. `simulated_account` is it
(the `account` fixture, tests/tools/conftest.py, enters it); the rest are the steps the tests
share."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from image_updater import clock
from image_updater.domain import naming
from image_updater.rollout.models import FOLLOWS_TAG, STAGE_TAG
from rehearsal.appstream import SimulatedAppStream
from tests.ledger_table import create_ledger_table
from tests.tools.steps import stack_with_outputs
from tools import run_now

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
REGION = "us-east-1"
TABLE = "UpdaterLedger"
SCHEDULE = "ImageUpdaterSchedule"
FRESH = NOW - timedelta(days=12)  # a base image released 12 days ago


@dataclass
class Account:
    sim: SimulatedAppStream
    state_machine_arn: str

    def derived(self, root: str, built: datetime, *, state: str = "AVAILABLE", **extra: Any) -> str:
        """An image the updater built from `root` (its name, description and tags)."""
        name = naming.derived_image_name(root, built)
        self.sim.add_image(
            name,
            state=state,
            created_time=built,
            description=naming.new_image_description(root, built),
            tags=naming.new_image_tags({}, root, root),
            **extra,
        )
        return name

    def run(self) -> str:
        started = boto3.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn, name="run-1"
        )
        return str(started["executionArn"])


@contextmanager
def simulated_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    """All fine: ImgA and ImgB, each updated yesterday (agent the latest, base image 12 days
    old), a canary and a production fleet on ImgA's newest image, the schedule on."""
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    sim = SimulatedAppStream(clock=lambda: NOW)
    with mock_aws(), sim.active():
        for root in ("ImgA", "ImgB"):
            sim.add_image(root, created_time=NOW - timedelta(days=60), base_image_released=FRESH)
        newest = {
            root: Account(sim, "").derived(
                root,
                NOW - timedelta(days=1),
                base_image_released=FRESH,
                agent_version="1.1.1200",
                latest_agent=True,
            )
            for root in ("ImgA", "ImgB")
        }
        sim.add_fleet(
            "Canary", image=newest["ImgA"], tags={FOLLOWS_TAG: "ImgA", STAGE_TAG: "canary"}
        )
        sim.add_fleet(
            "Prod", image=newest["ImgA"], tags={FOLLOWS_TAG: "ImgA", STAGE_TAG: "production"}
        )
        sim.add_fleet("Unrelated", image="ImgB")
        machine = _deploy()
        yield Account(sim, machine)


def _deploy() -> str:
    """The stack's outputs, its ledger table, schedule and state machine, as deployed."""
    create_ledger_table(boto3.client("dynamodb"), TABLE)
    role = "arn:aws:iam::123456789012:role/updater"
    machine = boto3.client("stepfunctions").create_state_machine(
        name="ImageUpdater",
        definition=json.dumps(
            {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
        ),
        roleArn=role,
    )["stateMachineArn"]
    boto3.client("scheduler").create_schedule(
        Name=SCHEDULE,
        ScheduleExpression="cron(0 3 * * ? *)",
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": machine, "RoleArn": role, "Input": "{}"},
        State="ENABLED",
    )
    outputs = {
        "StateMachineArn": machine,
        "ConfiguredImages": "ImgA,ImgB",
        "ScheduleName": SCHEDULE,
        "LedgerTableName": TABLE,
    }
    stack_with_outputs(outputs)
    return str(machine)


def status(*extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = run_now.main(["status", *extra], out=out, session_factory=boto3.Session)
    return code, out.getvalue(), err.getvalue()


def reasons(*extra: str) -> tuple[int, list[dict[str, Any]]]:
    code, printed, errors = status("--json", *extra)
    assert not errors
    return code, json.loads(printed)["reasons"]


def pause_schedule() -> None:
    scheduler = boto3.client("scheduler")
    found = scheduler.get_schedule(Name=SCHEDULE)
    keep = ("Name", "ScheduleExpression", "ScheduleExpressionTimezone", "Target")
    scheduler.update_schedule(
        **{k: found[k] for k in keep}, FlexibleTimeWindow={"Mode": "OFF"}, State="DISABLED"
    )
