"""The role through which the hub reads, at decision time, what this account uses of its
images before it removes a share (removing a share's fleet permission sets this account's
fleets on the image to desired capacity 0): read-only, trusted only by the hub's retain role.

Why a role the hub assumes rather than a list the spoke publishes: a reading is as fresh as
the decision it informs; a pushed list can be stale by the time the hub acts, and a stale
"unused" would strand a fleet. Why no sts:ExternalId: it guards against a confused deputy, a
third party that assumes roles on behalf of many customers and could be steered to the wrong
one; here the trusted principal is one first-party role of the hub account, named exactly by
`aws:PrincipalArn`, that never takes a role ARN from anyone else's input.

Allowed: appstream:DescribeFleets and DescribeImageBuilders (no resource-level permissions:
"*"), and Query/GetItem on this spoke's ledger limited to the `#rollback` partition."""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from image_updater.retention.roles import HUB_RETAIN_ROLE_PREFIX, READER_ROLE_PREFIX
from infra.constructs.ledger import Ledger
from infra.findings import acknowledge


def hub_reader_role(scope: Construct, hub_account_id: str, ledger: Ledger) -> iam.Role:
    partition = Stack.of(scope).partition
    role = iam.Role(
        scope,
        "HubReaderRole",
        role_name=f"{READER_ROLE_PREFIX}{Aws.REGION}",
        description="AppStream image updater: the hub's retention reads which of its images "
        "this account's fleets use or record as rollback targets (read-only)",
        assumed_by=iam.AccountPrincipal(hub_account_id).with_conditions(
            {
                "ArnLike": {
                    "aws:PrincipalArn": f"arn:{partition}:iam::{hub_account_id}:role/"
                    f"{HUB_RETAIN_ROLE_PREFIX}*"
                }
            }
        ),
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["appstream:DescribeFleets", "appstream:DescribeImageBuilders"],
            resources=["*"],
        )
    )
    ledger.grant_rollback_read(role)
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "appstream:DescribeFleets and DescribeImageBuilders support no resource-level "
        "permissions; both only read",
    )
    return role
