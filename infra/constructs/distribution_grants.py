"""The distribution's permissions (infra/workflow/distribution.py): exactly what its code calls.

distribute: DescribeImages and ListTagsForResource (no resource-level permissions: "*");
CopyImage on the lineages' images in the hub's Region that carry their lineage tag (the
source) and on their names in each copy Region (the copy, untagged until TagResource);
TagResource on the lineages' images in each copy Region (a copy has no tags to condition on
until this call); and
UpdateImagePermissions on the lineages' images in the hub's Region and each copy Region,
only those that carry their lineage tag (every copy is tagged before it is shared).
distribution_report: events:PutEvents (events.grant_put_events).
The record step (distribute, action `record`; `grant_distribution_records`): Query and
conditional UpdateItem on the lineages' partitions of the ledger, and DescribeExecution on the
executions of the run's state machine and of the distribution's (whether the run that left a
distribution owed, and its child for the image, still run). That statement is a policy of its
own: in the function's default policy it would make the function wait for the state machines,
which name the function (a circular dependency).
Service Authorization Reference: CopyImage, TagResource and UpdateImagePermissions take the
`image` resource type and `aws:ResourceTag/${TagKey}`; DescribeImages and ListTagsForResource
are granted on "*" as everywhere in this stack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Acknowledgment, ArnFormat, Aws, Fn, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from image_updater.domain import naming
from infra.config import UpdaterConfig
from infra.constructs.events import grant_put_events
from infra.constructs.ledger import Ledger

_IMAGE_READS = ("appstream:DescribeImages", "appstream:ListTagsForResource")


def _image_arn(function: lambda_.Function, name: str, region: str | None) -> str:
    return Stack.of(function).format_arn(
        service="appstream",
        resource="image",
        resource_name=name,
        region=region,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def grant_distribution(
    config: UpdaterConfig, distribute: lambda_.Function, report: lambda_.Function
) -> None:
    distribute.add_to_role_policy(iam.PolicyStatement(actions=list(_IMAGE_READS), resources=["*"]))
    for root in config.image_names:
        prefix = naming.lineage_prefix(root) + "*"
        tagged = {"StringEquals": {f"aws:ResourceTag/{naming.LINEAGE_ROOT_TAG}": root}}
        home = _image_arn(distribute, prefix, None)
        copies = [_image_arn(distribute, prefix, region) for region in config.copy_to_regions]
        if copies:
            distribute.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["appstream:CopyImage"], resources=[home], conditions=tagged
                )
            )
            # The copy's name in each destination, in case AWS authorizes it too (the reference
            # names one `image` resource for CopyImage without saying which: an assumption).
            distribute.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["appstream:CopyImage", "appstream:TagResource"], resources=copies
                )
            )
        if config.share_with_accounts:
            distribute.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["appstream:UpdateImagePermissions"],
                    resources=[home, *copies],
                    conditions=tagged,
                )
            )
        for region in (None, *config.copy_to_regions):
            where = "<AWS::Region>" if region is None else region
            Validations.of(distribute.role).acknowledge(  # type: ignore[arg-type]
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:appstream:"
                    f"{where}:<AWS::AccountId>:image/{prefix}]",
                    reason=f"Copies and shares are limited to images named like {root}'s "
                    "derived images (the root's prefix plus the run's timestamp)",
                )
            )
    grant_put_events(report)


def grant_distribution_records(
    scope: Construct,
    distribute: lambda_.Function,
    ledger: Ledger,
    roots: Sequence[str],
    machines: Sequence[sfn.StateMachine],
) -> None:
    """The record step's ledger items and the executions it asks about (see above)."""
    ledger.grant_distribution_records(distribute, roots)
    names = [Fn.select(6, Fn.split(":", machine.state_machine_arn)) for machine in machines]
    prefix = f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:execution:"
    policy = iam.Policy(
        scope,
        "DistributionRecordReads",
        roles=[distribute.role] if distribute.role else [],
        statements=[
            iam.PolicyStatement(
                actions=["states:DescribeExecution"],
                resources=[f"{prefix}{name}:*" for name in names],
            )
        ],
    )
    stack = Stack.of(scope)
    for machine in machines:
        ref = {"Ref": stack.resolve(stack.get_logical_id(machine.node.default_child))}  # type: ignore[arg-type]
        name = json.dumps({"Fn::Select": [6, {"Fn::Split": [":", ref]}]}, separators=(",", ":"))
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:"
                f"<AWS::AccountId>:execution:{name}:*]",
                reason="states:DescribeExecution on the executions of the updater's own state "
                "machines, whose names are made at run time: whether the run that left a "
                "distribution owed, or its child execution, still runs",
            )
        )
