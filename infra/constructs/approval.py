"""Who may approve a roll-out, and how the workflow knows: the approval function behind a
Lambda function URL with AWS_IAM auth, whose resource policy names exactly the `approvers`.

Trace (tests/infra/test_approval.py checks each line against the template):
- an approver -> the function URL: lambda:InvokeFunctionUrl (lambda:FunctionUrlAuthType
  AWS_IAM) and lambda:InvokeFunction (lambda:InvokedViaFunctionUrl), both in the function's
  resource policy, one pair per approver (function URLs created since October 2025 need
  both actions);
- the approval function -> the ledger (GetItem, UpdateItem: read the waiting task, record
  the decision once) and states:SendTaskSuccess, which supports no resource-level
  permissions (so "*"; what it can answer is bounded by the tokens it reads);
- the wait step's function -> the ledger (UpdateItem: the token and the deadline);
- the verify step's function -> the ledger (GetItem: the recorded decision).
Each ledger grant holds only for the approvals' partition, `#approval` (dynamodb:LeadingKeys).
The state machine's role only invokes the wait and verify functions, never the approval one.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from image_updater.approval.ledger import PARTITION as APPROVALS
from infra.config import UpdaterConfig
from infra.constructs.functions import RolloutFunctions
from infra.constructs.ledger import Ledger

SEND_TASK_SUCCESS_REASON = (
    "states:SendTaskSuccess supports no resource-level permissions; the approval function "
    "answers only the tokens this updater's wait step stored in its ledger"
)


def wire_approval(
    stack: Stack, config: UpdaterConfig, functions: RolloutFunctions, ledger: Ledger
) -> lambda_.FunctionUrl | None:
    """The approval's grants, its function URL and the stack output naming it."""
    approval, verify = functions.approval_url, functions.rollout_verify
    if approval is None or verify is None:
        return None
    _use_ledger(ledger, functions.rollout_approval, "dynamodb:UpdateItem")
    _use_ledger(ledger, verify, "dynamodb:GetItem")
    _use_ledger(ledger, approval, "dynamodb:GetItem", "dynamodb:UpdateItem")
    approval.add_to_role_policy(
        iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=["*"])
    )
    url = approval.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
    for approver in config.approvers:
        approval.grant_invoke_url(iam.ArnPrincipal(approver))
    CfnOutput(
        stack,
        "ApprovalUrl",
        value=url.url,
        description="The approval function (AWS_IAM auth): the approve and reject commands "
        "call it; only the approvers may",
    )
    return url


def _use_ledger(ledger: Ledger, function: lambda_.Function, *actions: str) -> None:
    """The approvals' partition only (`dynamodb:LeadingKeys`): neither the approval function
    nor the wait and verify steps can touch a rollback record or a report."""
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=sorted(actions),
            resources=[ledger.table.table_arn],
            conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [APPROVALS]}},
        )
    )
    function.add_environment("LEDGER_TABLE", ledger.table.table_name)
