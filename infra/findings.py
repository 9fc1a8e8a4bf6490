"""cdk-nag (AwsSolutions) findings that are intended, and the reasons the hub's and a spoke's
stacks share: each acknowledgement names the finding and its specific reason."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

from infra.arns import finding_in
from infra.constructs.approval import SEND_TASK_SUCCESS_REASON
from infra.constructs.functions import RolloutFunctions

XRAY = (
    "xray:PutTraceSegments and xray:PutTelemetryRecords (X-Ray active tracing) "
    "support no resource-level permissions"
)
FLEETS_READ = (
    "appstream:DescribeFleets, DescribeImages and ListTagsForResource support no "
    "resource-level permissions; all only read"
)


def acknowledge(scope: IConstruct | None, finding: str, reason: str) -> None:
    if scope is None:
        raise ValueError(f"nothing to acknowledge {finding} on")
    Validations.of(scope).acknowledge(Acknowledgment(id=finding_in(scope, finding), reason=reason))


def xray_and(reason: str, *functions: lambda_.Function) -> dict[lambda_.Function, str]:
    """Why each of `functions`' roles holds "*": X-Ray, and `reason` (calls that take no
    resource)."""
    return dict.fromkeys(functions, f"{XRAY}; {reason}")


def rollout_reasons(functions: RolloutFunctions) -> dict[lambda_.Function, str]:
    """Why each roll-out function's role holds "*": X-Ray, and the reads that take no
    resource (the approval function: SendTaskSuccess)."""
    reasons = xray_and(
        FLEETS_READ,
        functions.rollout_plan,
        functions.rollout_fleets,
        functions.rollout_health,
        functions.rollout_report,
    )
    if functions.approval_url is not None:
        reasons |= xray_and(SEND_TASK_SUCCESS_REASON, functions.approval_url)
    return reasons


def acknowledge_functions_and_workflow(
    stack: Stack,
    functions: Sequence[lambda_.Function],
    reasons: Mapping[lambda_.Function, str],
    machine: sfn.StateMachine,
    dead_letter_queue: sqs.IQueue,
) -> None:
    """Every function's "*" (its reason, else X-Ray's), the state machine's role (X-Ray, log
    delivery, each function's versions) and the schedule's dead-letter queue."""
    for function in functions:
        acknowledge(function.role, "AwsSolutions-IAM5[Resource::*]", reasons.get(function, XRAY))
    acknowledge_workflow(stack, machine, functions)
    acknowledge(
        dead_letter_queue,
        "AwsSolutions-SQS3",
        "This queue is itself the schedule's dead-letter queue",
    )


def acknowledge_workflow(
    stack: Stack, machine: sfn.StateMachine, functions: Sequence[lambda_.Function]
) -> None:
    """A state machine's role: X-Ray, log delivery, and the versions of each function."""
    acknowledge(
        machine.role,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and related) "
        "support no resource-level permissions",
    )
    for function in functions:
        resource = function.node.default_child
        assert isinstance(resource, CfnElement)
        logical_id = stack.resolve(stack.get_logical_id(resource))
        acknowledge(
            machine.role,
            f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]",
            "Step Functions' Lambda integration is granted every version of the "
            "updater's own function",
        )


def acknowledge_child_workflow(
    stack: Stack,
    parent: sfn.StateMachine,
    child: sfn.StateMachine,
    functions: Sequence[lambda_.Function],
) -> None:
    """A child state machine (each image's distribution): its own role as any workflow's;
    and the run's, which may describe and stop the child's executions (their names are made
    at run time: CDK's grant for startExecution.sync:2)."""
    acknowledge_workflow(stack, child, functions)
    resource = child.node.default_child
    assert isinstance(resource, CfnElement)
    name = {
        "Fn::Select": [
            6,
            {"Fn::Split": [":", {"Ref": stack.resolve(stack.get_logical_id(resource))}]},
        ]
    }
    acknowledge(
        parent.role,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:"
        f"<AWS::AccountId>:execution:{json.dumps(name, separators=(',', ':'))}*]",
        "states:DescribeExecution and StopExecution on the executions of the distribution's "
        "own state machine, whose names the run computes (AWS's policy for "
        "startExecution.sync:2)",
    )
