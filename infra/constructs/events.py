"""The updater's own EventBridge events: who may publish them, and as whom.

Events go to the account's default bus (nothing to create or pay for at rest: rules are
what subscribers add). A publishing function may send events of the updater's source only,
so nothing else can be published under its role; see lambdas/image_updater/events.py for
the events themselves.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from image_updater.events import SOURCE

DEFAULT_BUS = "default"


def grant_put_events(function: lambda_.Function) -> None:
    """events:PutEvents on the default bus, for entries whose Source is the updater's.
    PutEvents authorizes each entry on its own, with that entry's `events:source`."""
    bus_arn = Stack.of(function).format_arn(
        service="events",
        resource="event-bus",
        resource_name=DEFAULT_BUS,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=["events:PutEvents"],
            resources=[bus_arn],
            conditions={"StringEquals": {"events:source": SOURCE}},
        )
    )
