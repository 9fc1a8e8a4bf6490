"""The updater's memory across runs: lineage locks, the account-wide updates lock and the
creates on record, the final reports and the distributions still owed, the circuit breaker's
count of failed scheduled runs, and each fleet's rollback record (the image it ran before the
updater changed it; see lambdas/image_updater/rollout/records.py).

On-demand DynamoDB: nothing runs and nothing is billed while no run is active (a handful of
requests per run, and a few kilobytes stored). Locks and sent reports expire by themselves
(TTL), and the code never trusts an expired lock, so nothing stale can block a lineage; reports
owed or claimed, the breaker's item and the rollback records never expire (TTL deletion is
lazy, but real). See lambdas/image_updater/ledger.py for what the items mean.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from image_updater.breaker.ledger import BREAKER_PARTITION
from image_updater.rollout.records import PARTITION as ROLLBACK_PARTITION
from image_updater.spoke.claims import PARTITION as SPOKE_PARTITION
from image_updater.update.ledger_creates import UPDATES_KEY


class Ledger(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, table_name: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.TableV2(
            self,
            "Table",
            table_name=table_name,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            time_to_live_attribute="expiresAt",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # Locks and report markers only: nothing an admin would want kept after the stack.
            removal_policy=RemovalPolicy.DESTROY,
        )

    # Each function reaches only the partitions it uses (`dynamodb:LeadingKeys`): the
    # lineages' roots for locks and reports, `#updates`, `#breaker`, `#rollback`, `#approval`.
    # No function can write another kind's items (a rollback target, an approval's record).

    def grant_lineage_lock(self, function: lambda_.Function, roots: Sequence[str]) -> None:
        """create: take and release a lineage's lock and the account-wide updates lock
        (conditional PutItem and DeleteItem), record each create it sends and forget one
        AppStream refused (PutItem, DeleteItem), read the creates on record (Query), and
        record the report its new image owes (PutItem)."""
        self._use_partitions(function, [*roots, UPDATES_KEY], "PutItem", "DeleteItem", "Query")

    def grant_report_tracking(self, function: lambda_.Function, roots: Sequence[str]) -> None:
        """check: list the lineage's report items (Query) and record one owed (PutItem).
        (The state machine's role marks reports sent: its DynamoDB task grants UpdateItem.)"""
        self._use_partitions(function, roots, "Query", "PutItem")

    def grant_report_claims(self, function: lambda_.Function, roots: Sequence[str]) -> None:
        """check and poll: claim an image's final report (conditional UpdateItem)."""
        self._use_partitions(function, roots, "UpdateItem")

    def grant_distribution_records(self, function: lambda_.Function, roots: Sequence[str]) -> None:
        """distribute: list a lineage's distribution items (Query), claim one or take over an
        abandoned one (conditional UpdateItem). (The distribution's state machine marks one
        sent: its DynamoDB task grants its role UpdateItem.)"""
        self._use_partitions(function, roots, "Query", "UpdateItem")

    def grant_breaker(self, function: lambda_.Function) -> None:
        """breaker: count failed scheduled runs and claim the pause (conditional UpdateItem),
        read the count back after a retry (GetItem), and reset it (DeleteItem)."""
        self._use_partitions(function, [BREAKER_PARTITION], "UpdateItem", "GetItem", "DeleteItem")

    def grant_rollback_records(self, function: lambda_.Function, *actions: str) -> None:
        """The rollback records' partition only (`dynamodb:LeadingKeys`): rollout_fleets
        writes, reads and removes them (PutItem, GetItem, DeleteItem); retention, and
        create's quota e-mail, list them (Query)."""
        self._use_partitions(function, [ROLLBACK_PARTITION], *actions)

    def grant_create_records_read(self, function: lambda_.Function) -> None:
        """poll: read the record of one create (GetItem, strongly consistent) in the
        `#updates` partition only: a new image the listing does not show yet is still being
        built while that record holds."""
        self._use_partitions(function, [UPDATES_KEY], "GetItem")

    def _use_partitions(
        self, function: lambda_.Function, partitions: Sequence[str], *actions: str
    ) -> None:
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=sorted(f"dynamodb:{action}" for action in actions),
                resources=[self.table.table_arn],
                conditions={
                    "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": sorted(set(partitions))}
                },
            )
        )
        function.add_environment("LEDGER_TABLE", self.table.table_name)

    def grant_rollback_read(self, role: iam.IRole) -> None:
        """A spoke's reader role (the hub's retention): read the rollback records only
        (Query, GetItem on the `#rollback` partition)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:Query"],
                resources=[self.table.table_arn],
                conditions={
                    "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [ROLLBACK_PARTITION]}
                },
            )
        )

    def grant_spoke_claims(self, function: lambda_.Function) -> None:
        """A spoke's discover: claim each image it rolls out, once (conditional PutItem), in
        the `#spoke` partition only."""
        self._use_partitions(function, [SPOKE_PARTITION], "PutItem")
