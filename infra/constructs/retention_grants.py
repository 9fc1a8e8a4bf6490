"""Retention's permissions beyond the hub's own Region (lambdas/image_updater/retention/):
exactly what its code calls, added only when copyToRegions or shareWithAccounts is set.

retain, with copyToRegions: DeleteImage on the lineages' derived images in each copy Region
that carry their lineage tag (every copy is tagged by the distribution; an untagged copy
cannot be deleted, whatever the code decides). Reads ("*") are granted already.
retain, with shareWithAccounts: a fixed role name (HUB_RETAIN_ROLE_PREFIX + Region: the
spokes' reader roles trust it by name); sts:AssumeRole only on the reader roles of the
configured accounts in the Regions each is shared with; DeleteImagePermissions only on the
lineages' images (hub's Region and each copy Region) that carry their lineage tag, as the
distribution's UpdateImagePermissions grant.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from image_updater.domain import naming
from image_updater.retention.roles import HUB_RETAIN_ROLE_PREFIX, reader_role_arn
from infra.arns import appstream_arn
from infra.config import UpdaterConfig
from infra.config.distribution import share_regions
from infra.findings import acknowledge

RETAIN_REGIONS = "RETAIN_REGIONS"
SHARE_ACCOUNTS = "SHARE_ACCOUNTS"


def reader_roles(config: UpdaterConfig, partition: str, home: str) -> list[str]:
    """Every reader role the hub may assume: each account in each Region it is shared in."""
    copies = config.copy_to_regions
    return sorted(
        {
            reader_role_arn(partition, share.account_id, region if region in copies else home)
            for share in config.share_with_accounts
            for region in share_regions(share, home, copies)
        }
    )


def grant_retention_everywhere(config: UpdaterConfig, retain: lambda_.Function) -> None:
    if not config.distributes:
        return
    stack = Stack.of(retain)
    retain.add_environment(RETAIN_REGIONS, ",".join(config.copy_to_regions))
    retain.add_environment(
        SHARE_ACCOUNTS, ",".join(dict.fromkeys(s.account_id for s in config.share_with_accounts))
    )
    for root in config.image_names:
        prefix = naming.lineage_prefix(root) + "*"
        tagged = {"StringEquals": {f"aws:ResourceTag/{naming.LINEAGE_ROOT_TAG}": root}}
        copies = [
            appstream_arn(retain, "image", prefix, region=region)
            for region in config.copy_to_regions
        ]
        if copies:
            retain.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["appstream:DeleteImage"], resources=copies, conditions=tagged
                )
            )
        if config.share_with_accounts:
            retain.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["appstream:DeleteImagePermissions"],
                    resources=[appstream_arn(retain, "image", prefix), *copies],
                    conditions=tagged,
                )
            )
        for region in config.copy_to_regions:
            acknowledge(
                retain.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:appstream:{region}:"
                f"<AWS::AccountId>:image/{prefix}]",
                f"DeleteImage and DeleteImagePermissions are limited to images named like "
                f"{root}'s derived images that carry the lineage tag",
            )
    if not config.share_with_accounts:
        return
    role = cast(iam.CfnRole, retain.role.node.default_child)  # type: ignore[union-attr]
    role.role_name = f"{HUB_RETAIN_ROLE_PREFIX}{Aws.REGION}"
    retain.add_to_role_policy(
        iam.PolicyStatement(
            actions=["sts:AssumeRole"],
            resources=reader_roles(config, stack.partition, Aws.REGION),
        )
    )
