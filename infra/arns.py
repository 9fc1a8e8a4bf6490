"""The ARNs the stack's policies name, each kind formatted in one place (the stack's
partition and Region; its account unless another is given)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from aws_cdk import ArnFormat, Stack, Token
from constructs import Construct, IConstruct


def appstream_arn(
    scope: Construct,
    resource: Literal["image", "fleet"],
    name: str,
    account: str | None = None,
    region: str | None = None,
) -> str:
    """arn:...:appstream:<Region>:<account>:<resource>/<name> (an image, a fleet); the stack's
    Region and account unless others are given."""
    return Stack.of(scope).format_arn(
        service="appstream",
        resource=resource,
        resource_name=name,
        account=account,
        region=region,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def alarm_arns(scope: Construct, names: Iterable[str]) -> list[str]:
    """arn:...:cloudwatch:<Region>:<account>:alarm:<name>, for each of `names`."""
    stack = Stack.of(scope)
    return [
        stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for name in names
    ]


def finding_in(scope: IConstruct, finding: str) -> str:
    """A cdk-nag finding id as cdk-nag renders it on `scope`'s stack: a stack pinned to an
    account and Region (the organisation's hub stages) has them, and its partition (cdk.json's
    `enablePartitionLiterals`), literally in its ARNs, where an environment-agnostic stack has
    `<AWS::Partition>`, `<AWS::Region>` and `<AWS::AccountId>`."""
    stack = Stack.of(scope)
    for placeholder, value in (
        ("<AWS::Partition>", stack.partition),
        ("<AWS::Region>", stack.region),
        ("<AWS::AccountId>", stack.account),
    ):
        if not Token.is_unresolved(value):
            finding = finding.replace(placeholder, value)
    return finding
