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
        "StateMachineArn": {"Value": deployment.state_machine_arn},
        "ConfiguredImages": {"Value": "ImgA,ImgB"},
    }
    if breaker_outputs:
        outputs["ScheduleName"] = {"Value": deployment.schedule_name}
        outputs["LedgerTableName"] = {"Value": deployment.ledger_table}
    template = {"Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}}, "Outputs": outputs}
    boto3.client("cloudformation", region_name=deployment.region).create_stack(
        StackName=DEFAULT_STACK, TemplateBody=json.dumps(template)
    )
