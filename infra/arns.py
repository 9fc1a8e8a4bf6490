"""The ARNs the stack's policies name, each kind formatted in one place (the stack's
partition and Region; its account unless another is given)."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import ArnFormat, Stack
from constructs import Construct


def appstream_arn(
    scope: Construct,
    resource: str,
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
