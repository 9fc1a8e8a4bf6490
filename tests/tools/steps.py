"""Given-steps shared by the tests that run `make run-now` against an offline deployment."""

from __future__ import annotations

import json

import boto3

from rehearsal.runner import Deployment
from tools.run_now.aws import DEFAULT_STACK


def stack_for_run_now(deployment: Deployment, *, breaker_outputs: bool = True) -> None:
    """A CloudFormation stack whose outputs are the deployment's, as run-now reads them
    (ImgA and ImgB configured; the circuit breaker's outputs unless `breaker_outputs=False`,
    as a stack deployed before the breaker has them not)."""
    outputs = {
        "StateMachineArn": deployment.state_machine_arn,
        "ConfiguredImages": "ImgA,ImgB",
    }
    if breaker_outputs:
        outputs["ScheduleName"] = deployment.schedule_name
        outputs["LedgerTableName"] = deployment.ledger_table
    stack_with_outputs(outputs, region=deployment.region)


def stack_with_outputs(outputs: dict[str, str], *, region: str | None = None) -> None:
    """The updater's stack (DEFAULT_STACK) in CloudFormation, with these outputs."""
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name=region).create_stack(
        StackName=DEFAULT_STACK, TemplateBody=json.dumps(template)
    )
