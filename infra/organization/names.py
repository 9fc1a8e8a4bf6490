"""Where the spokes' code and template live: one bucket per Region in the hub's account, named
from the hub's account and the Region, and the CDK bootstrap roles that publish into it."""

from __future__ import annotations

from aws_cdk import DefaultStackSynthesizer

SPOKE_SET_NAME = "AppStreamImageUpdaterSpoke"
CODE_BUCKET_PREFIX = "appstream-image-updater-spoke-code"
# `cdk bootstrap`'s default qualifier: the hub's bootstrap roles are looked up by it.
QUALIFIER = DefaultStackSynthesizer.DEFAULT_QUALIFIER
BOOTSTRAP_VERSION = 6  # the roles and parameter below exist from this bootstrap version on


def code_bucket_name(hub_account_id: str, region: str) -> str:
    """`region` may be "${AWS::Region}": in the spoke's template, its own Region's bucket."""
    return f"{CODE_BUCKET_PREFIX}-{hub_account_id}-{region}"


def bootstrap_role_arn(kind: str, hub_account_id: str, region: str) -> str:
    """A role `cdk bootstrap` created in the hub's account and `region` (kind: deploy,
    cfn-exec, file-publishing)."""
    return (
        f"arn:${{AWS::Partition}}:iam::{hub_account_id}:role/"
        f"cdk-{QUALIFIER}-{kind}-role-{hub_account_id}-{region}"
    )


BOOTSTRAP_VERSION_PARAMETER = f"/cdk-bootstrap/{QUALIFIER}/version"
