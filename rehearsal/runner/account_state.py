"""What AWS keeps for the account between runs (the ledger, the schedule, the alarms): moto
forgets it with each deployment, so it is saved with the simulated account after a run and
restored before the next."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner.clients import client
from rehearsal.runner.live import ACCOUNT, REGION
from rehearsal.template import SynthesizedApp


def set_alarm_state(sim: SimulatedAppStream, name: str, state: str) -> None:
    """A CloudWatch metric alarm of the account (a canary's health signal), in `state`:
    created in moto at every deployment, as AWS would keep it."""
    sim.account_state.setdefault("alarms", {})[name] = state


def restore_alarms(sim: SimulatedAppStream) -> None:
    cloudwatch = client("cloudwatch")
    for name, state in sim.account_state.get("alarms", {}).items():
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="Rehearsal",
            MetricName=name,
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="rehearsal")


def restore_ledger(table: Mapping[str, Any], sim: SimulatedAppStream) -> None:
    """Create the ledger table in moto, holding what earlier runs on this account left."""
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        TableName=table["name"],
        KeySchema=table["KeySchema"],
        AttributeDefinitions=table["AttributeDefinitions"],
        BillingMode=table["BillingMode"],
    )
    for item in sim.account_state.get("ledger", []):
        dynamodb.put_item(TableName=table["name"], Item=item)


def save_ledger(table: Mapping[str, Any], sim: SimulatedAppStream) -> None:
    """Keep the ledger with the simulated account, for the next run (mock_aws forgets it)."""
    dynamodb = client("dynamodb")
    items = [
        item
        for page in dynamodb.get_paginator("scan").paginate(TableName=table["name"])
        for item in page["Items"]
    ]
    sim.account_state["ledger"] = items


def restore_schedule(app: SynthesizedApp, sim: SimulatedAppStream, state_machine_arn: str) -> None:
    """Create the template's schedule in moto, as earlier runs on this account left it (the
    breaker may have paused it), or as the template describes it."""
    references = {
        logical_id: {
            "AWS::StepFunctions::StateMachine": state_machine_arn,
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{logical_id}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical_id}",
        }.get(resource["Type"], logical_id)
        for logical_id, resource in app.template["Resources"].items()
    }
    request = sim.account_state.get("schedule") or app.schedule_request(references)
    client("scheduler").create_schedule(**request)


def save_schedule(app: SynthesizedApp, sim: SimulatedAppStream) -> None:
    """Keep the schedule, every field CreateSchedule takes, with the simulated account."""
    scheduler = client("scheduler")
    try:
        schedule = scheduler.get_schedule(Name=app.schedule["Properties"]["Name"])
    except scheduler.exceptions.ResourceNotFoundException:  # a test deleted it
        sim.account_state.pop("schedule", None)
        return
    fields = scheduler.meta.service_model.operation_model("CreateSchedule").input_shape.members
    sim.account_state["schedule"] = {
        key: value for key, value in schedule.items() if key in fields and value is not None
    }
