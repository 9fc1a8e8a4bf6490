"""What the roll-out's functions may do, and only that.

UpdateFleet, TagResource and UntagResource are allowed only on fleets whose tag
`AppStreamImageUpdater:Image` names one of the configured images: IAM checks the tag on the
fleet itself (the Service Authorization Reference lists `aws:ResourceTag/${TagKey}` for the
fleet resource of all three), so a fleet without it cannot be changed, whatever the code
decides. Tagging is further limited to the two keys the updater writes (its rollback record).
UpdateFleet also names the image (an optional resource type of the action): only this
account's images, AWS's public base images (their ARNs have an empty account field:
`arn:aws:appstream:us-east-1::image/AppStream-WinServer2022-...`), and images of the accounts
the admin names in `rollbackImageAccounts` (shared with this one). An image shared into the
account by anyone else cannot be put on a fleet with the updater's role.
DescribeFleets, DescribeImages and ListTagsForResource support no resource-level
permissions; they only read.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from image_updater.rollout.models import FOLLOWS_TAG, RECORD_TAGS
from infra.arns import alarm_arns, appstream_arn, finding_in
from infra.constructs.events import grant_put_events
from infra.constructs.functions import RolloutFunctions

READ_FLEETS = ("appstream:DescribeFleets", "appstream:ListTagsForResource")
READ_IMAGES = ("appstream:DescribeImages", "appstream:ListTagsForResource")
# At most 25 alarm ARNs per statement: within the 4 KB the names can take in the functions'
# environment (infra/limits.py), 25 of them stay well under a managed policy's 6,144 characters.
ALARMS_PER_STATEMENT = 25


def tagged_fleets_condition(roots: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    return {"StringEquals": {f"aws:ResourceTag/{FOLLOWS_TAG}": list(roots)}}


def grant_rollout(
    functions: RolloutFunctions,
    roots: Sequence[str],
    image_accounts: Sequence[str],
    alarm_names: Sequence[str],
) -> None:
    """The roll-out: only rollout_fleets changes fleets (tagged ones); the others read,
    and every step that ends a milestone announces it."""
    grant_read_fleets(functions.rollout_plan, images=True)
    grant_read_fleets(functions.rollout_fleets, images=True)
    grant_change_tagged_fleets(functions.rollout_fleets, roots, image_accounts)
    grant_read_fleets(functions.rollout_health, images=True)
    # A roll-out that failed says which fleets run the new image now.
    grant_read_fleets(functions.rollout_report)
    grant_read_alarms(functions.rollout_health, alarm_names)
    for function in (
        functions.rollout_fleets,
        functions.rollout_approval,
        functions.rollout_window,
        functions.rollout_report,
    ):
        grant_put_events(function)


def grant_read_fleets(function: lambda_.Function, *, images: bool = False) -> None:
    actions = sorted({*READ_FLEETS, *(READ_IMAGES if images else ())})
    function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=["*"]))


def fleet_image_resources(stack: Stack, accounts: Sequence[str] = ()) -> list[str]:
    """The images UpdateFleet may put a fleet on: this account's, AWS's public ones (empty
    account field), and those of `accounts`."""
    return [
        appstream_arn(stack, "image", "*"),
        appstream_arn(stack, "image", "*", account=""),
        *(appstream_arn(stack, "image", "*", account=account) for account in accounts),
    ]


def grant_change_tagged_fleets(
    function: lambda_.Function, roots: Sequence[str], image_accounts: Sequence[str] = ()
) -> None:
    """UpdateFleet on the fleets tagged to follow `roots`; the rollback record on them."""
    stack = Stack.of(function)
    fleets = appstream_arn(stack, "fleet", "*")
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=["appstream:UpdateFleet"],
            resources=[fleets],
            conditions=tagged_fleets_condition(roots),
        )
    )
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=["appstream:UpdateFleet"],
            resources=fleet_image_resources(stack, image_accounts),
        )
    )
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=["appstream:TagResource", "appstream:UntagResource"],
            resources=[fleets],
            conditions={
                **tagged_fleets_condition(roots),
                "ForAllValues:StringEquals": {"aws:TagKeys": list(RECORD_TAGS)},
            },
        )
    )
    _acknowledge(
        function,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:appstream:<AWS::Region>:"
        "<AWS::AccountId>:fleet/*]",
        f"UpdateFleet, TagResource and UntagResource only on fleets tagged {FOLLOWS_TAG} with "
        "a configured image (aws:ResourceTag condition); tagging only the rollback record",
    )
    images = (
        "UpdateFleet names the image a fleet goes to: a new image of the lineage, or on "
        "rollback the fleet's recorded previous image"
    )
    for account in ("<AWS::AccountId>", "", *image_accounts):
        _acknowledge(
            function,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:appstream:<AWS::Region>:"
            f"{account}:image/*]",
            images
            + (
                ", in this account"
                if account.startswith("<")
                else (", an AWS public base image" if not account else ", shared by it")
            ),
        )


def grant_read_alarms(function: lambda_.Function, alarm_names: Sequence[str]) -> None:
    """DescribeAlarms on the named alarms only (metric alarms: a composite alarm would need
    the permission on "*")."""
    if not alarm_names:
        return
    arns = alarm_arns(function, alarm_names)
    # One statement per few names: CDK moves whole statements into overflow managed policies
    # (6,144 characters each), so a single statement of 100 names (8,707 characters with
    # 30-character names) would fail the deploy; split, they spread over the policies.
    for first in range(0, len(arns), ALARMS_PER_STATEMENT):
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:DescribeAlarms"],
                resources=arns[first : first + ALARMS_PER_STATEMENT],
            )
        )


def _acknowledge(function: lambda_.Function, finding: str, reason: str) -> None:
    if function.role is None:
        raise ValueError(f"{function.node.path} has no role to acknowledge {finding} on")
    Validations.of(function.role).acknowledge(
        Acknowledgment(id=finding_in(function.role, finding), reason=reason)
    )
