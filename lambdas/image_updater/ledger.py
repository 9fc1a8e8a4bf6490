"""The updater's memory across runs, in one DynamoDB table (on-demand: no cost at rest).

Two kinds of item, both keyed by the lineage's root image:

- `lock`: held by the run that is about to start an update of the lineage, from its last
  look at the lineage until AppStream has answered the create. It expires by itself (a
  crashed Lambda cannot leave it behind), and the state machine retries a run that finds it
  taken; that retry then sees the new image (or its record, below) and follows it.
- `image#<name>`: an image the updater started (or followed) and its final report: PENDING
  (owed), CLAIMED by the run sending it (claimer = its execution id, claimedAt), REPORTED once
  SNS accepted the e-mail (the workflow's "Mark the report sent" step writes that). Whichever
  run first sees the image settle claims the report (a conditional write a retry of the same
  run passes again), so each image gets one "ready" or "failed" e-mail, even when several runs
  follow it or the run that started it has given up; a claim never marked sent is owed again
  after `reports.CLAIM_HOLD`. Only REPORTED items expire (see `reports.py`).

Under the key `#updates` (see `ledger_creates.py`): the account-wide lock under which a
create counts the updates running and starts one, and the record of each create sent
(`create#<name>`), which a later look at a lineage believes while AppStream's listing lags.

And one item of the breaker's, keyed `#breaker` (no image name starts with `#`): how many
scheduled runs in a row failed, the last few of them, and which run is pausing the schedule
right now. It does not expire: only a successful run or a resume resets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from image_updater.errors import LedgerUnavailable
from image_updater.reports import (
    CLAIM_HOLD,
    CLAIMED,
    IMAGE_PREFIX,
    PENDING,
    REPORTED,
    ReportRecord,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOCK_KEY = "lock"
_IMAGE_PREFIX = IMAGE_PREFIX
# Longer than any create step can take (its Lambda timeout is 30 s), short enough that a
# crashed holder delays the lineage's next attempt by minutes only.
LOCK_HOLD = timedelta(minutes=3)
_CONDITION_FAILED = "ConditionalCheckFailedException"
BREAKER_PARTITION = "#breaker"
_BREAKER_KEY = {"pk": {"S": BREAKER_PARTITION}, "sk": {"S": "state"}}
# The failed runs the breaker remembers (for its e-mail); maxConsecutiveFailedRuns is at most 10.
RECENT_FAILURES_MAX = 10
# Longer than the breaker's step takes (its Lambda timeout is 30 s): while one run pauses the
# schedule, another that fails at the same moment leaves it to that run.
PAUSE_HOLD = timedelta(minutes=3)


@cache
def default_client() -> DynamoDBClient:
    """Created on first use, like the AppStream client."""
    return boto3.client("dynamodb", config=Config(retries={"mode": "standard"}))


@contextmanager
def translated_errors() -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == _CONDITION_FAILED:
            raise
        raise LedgerUnavailable(f"{code}: {error}") from error
    except BotoCoreError as error:
        raise LedgerUnavailable(f"{type(error).__name__}: {error}") from error


def condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == _CONDITION_FAILED


def epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


class LedgerTable:
    """The ledger's table, or a given one, and its client."""

    def __init__(self, table: str | None = None, client: DynamoDBClient | None = None) -> None:
        self._table = table or os.environ["LEDGER_TABLE"]
        self._given_client = client

    @property
    def _client(self) -> DynamoDBClient:
        """Created on the first call, not with the ledger: poll reads the table only when
        AppStream does not find the image, so its usual invocation never pays for it."""
        return self._given_client or default_client()


class Ledger(LedgerTable):
    # --- the lineage lock --------------------------------------------------------------------

    def acquire_lineage(self, root: str, owner: str, now: datetime) -> bool:
        """Take the lineage's lock for `owner`, if it is free, expired, or `owner`'s already."""
        return self._take_lock(root, owner, now)

    def release_lineage(self, root: str, owner: str) -> None:
        self._give_back_lock(root, owner)

    def _take_lock(self, pk: str, owner: str, now: datetime) -> bool:
        try:
            with translated_errors():
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": pk},
                        "sk": {"S": LOCK_KEY},
                        "owner": {"S": owner},
                        "expiresAt": {"N": epoch(now + LOCK_HOLD)},
                    },
                    ConditionExpression=(
                        "attribute_not_exists(pk) OR expiresAt < :now OR #owner = :owner"
                    ),
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={
                        ":now": {"N": epoch(now)},
                        ":owner": {"S": owner},
                    },
                )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def _give_back_lock(self, pk: str, owner: str) -> None:
        try:
            with translated_errors():
                self._client.delete_item(
                    TableName=self._table,
                    Key={"pk": {"S": pk}, "sk": {"S": LOCK_KEY}},
                    ConditionExpression="#owner = :owner",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={":owner": {"S": owner}},
                )
        except ClientError as error:
            if not condition_failed(error):
                raise
            # Expired and taken by another run meanwhile: theirs now, leave it.

    # --- reports owed ------------------------------------------------------------------------

    def expect_report(self, root: str, image: str, now: datetime) -> None:
        """Remember that `image` owes its final report (once; a report sent stays sent)."""
        try:
            with translated_errors():
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": root},
                        "sk": {"S": _IMAGE_PREFIX + image},
                        "status": {"S": PENDING},  # no expiresAt: a report owed never expires
                    },
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def pending_reports(self, root: str) -> set[str]:
        """Images of the lineage whose final report has not been sent yet."""
        pending: set[str] = set()
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :root AND begins_with(sk, :prefix)",
            "FilterExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":root": {"S": root},
                ":prefix": {"S": _IMAGE_PREFIX},
                ":pending": {"S": PENDING},
            },
            "ConsistentRead": True,
        }
        with translated_errors():
            paginator = self._client.get_paginator("query")
            for page in paginator.paginate(**query):  # type: ignore[arg-type]
                pending.update(item["sk"]["S"][len(_IMAGE_PREFIX) :] for item in page["Items"])
        return pending

    def report_records(self, root: str) -> dict[str, ReportRecord]:
        """Every report item of the lineage, owed, claimed or sent, by image name."""
        records: dict[str, ReportRecord] = {}
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :root AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":root": {"S": root},
                ":prefix": {"S": _IMAGE_PREFIX},
            },
            "ConsistentRead": True,
        }
        with translated_errors():
            paginator = self._client.get_paginator("query")
            for page in paginator.paginate(**query):  # type: ignore[arg-type]
                for item in page["Items"]:
                    claimed_at = item.get("claimedAt", {}).get("N")
                    records[item["sk"]["S"][len(_IMAGE_PREFIX) :]] = ReportRecord(
                        status=item.get("status", {}).get("S", REPORTED),
                        claimer=item.get("claimer", {}).get("S"),
                        claimed_at=(
                            datetime.fromtimestamp(int(claimed_at), UTC) if claimed_at else None
                        ),
                    )
        return records

    def claim_report(self, root: str, image: str, claimer: str, now: datetime) -> bool:
        """True for the one run that must send `image`'s final report: the first to claim it
        (it may have no item yet: a create whose ledger write was lost), the claimer again (a
        retry of its step, or the SDK re-sending this very request after a lost response), or
        whoever finds a claim older than CLAIM_HOLD that was never marked sent."""
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": root}, "sk": {"S": _IMAGE_PREFIX + image}},
                    UpdateExpression=(
                        "SET #status = :claimed, claimer = :me, claimedAt = :now REMOVE expiresAt"
                    ),
                    ConditionExpression=(
                        "attribute_not_exists(pk) OR #status = :pending OR "
                        "(#status = :claimed AND (claimer = :me OR claimedAt < :stale))"
                    ),
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":claimed": {"S": CLAIMED},
                        ":pending": {"S": PENDING},
                        ":me": {"S": claimer},
                        ":now": {"N": epoch(now)},
                        ":stale": {"N": epoch(now - CLAIM_HOLD)},
                    },
                )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    # --- the breaker -------------------------------------------------------------------------

    def record_failed_scheduled_run(
        self, execution_arn: str, now: datetime
    ) -> tuple[int, tuple[str, ...]]:
        """Count one more failed scheduled run (atomically, so overlapping runs each count
        once; a retried step does not count its run twice). Returns the count and the last
        failed runs, oldest first."""
        try:
            with translated_errors():
                updated = self._client.update_item(
                    TableName=self._table,
                    Key=_BREAKER_KEY,
                    UpdateExpression=(
                        "ADD failedRuns :one SET failedExecutions = "
                        "list_append(if_not_exists(failedExecutions, :none), :arns), "
                        "updatedAt = :now"
                    ),
                    ConditionExpression=(
                        "attribute_not_exists(failedExecutions) OR "
                        "NOT contains(failedExecutions, :arn)"
                    ),
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":none": {"L": []},
                        ":arns": {"L": [{"S": execution_arn}]},
                        ":arn": {"S": execution_arn},
                        ":now": {"N": epoch(now)},
                    },
                    ReturnValues="ALL_NEW",
                )
            item = updated["Attributes"]
        except ClientError as error:
            if not condition_failed(error):
                raise
            item = self._breaker_item()  # counted already, by an earlier attempt of this step
        count = int(item.get("failedRuns", {}).get("N", "0"))
        arns = [value["S"] for value in item.get("failedExecutions", {}).get("L", [])]
        if len(arns) > RECENT_FAILURES_MAX:
            self._forget_oldest(len(arns))
        return count, tuple(arns[-RECENT_FAILURES_MAX:])

    def _forget_oldest(self, length: int) -> None:
        """Trim the list to its last RECENT_FAILURES_MAX entries (unless another run has just
        changed it: that run trims it then)."""
        extra = length - RECENT_FAILURES_MAX
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=_BREAKER_KEY,
                    UpdateExpression="REMOVE "
                    + ", ".join(f"failedExecutions[{index}]" for index in range(extra)),
                    ConditionExpression="size(failedExecutions) = :length",
                    ExpressionAttributeValues={":length": {"N": str(length)}},
                )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def _breaker_item(self) -> dict[str, Any]:
        with translated_errors():
            found = self._client.get_item(
                TableName=self._table, Key=_BREAKER_KEY, ConsistentRead=True
            )
        return dict(found.get("Item", {}))

    def failed_scheduled_runs(self) -> int:
        """The breaker's count: scheduled runs that failed in a row, up to now."""
        return int(self._breaker_item().get("failedRuns", {}).get("N", "0"))

    def reset_breaker(self) -> int:
        """Forget the failed runs (a run succeeded, or the schedule was resumed); returns the
        count it had."""
        with translated_errors():
            deleted = self._client.delete_item(
                TableName=self._table, Key=_BREAKER_KEY, ReturnValues="ALL_OLD"
            )
        return int(deleted.get("Attributes", {}).get("failedRuns", {}).get("N", "0"))

    def claim_pause(self, execution_arn: str, now: datetime) -> PauseClaim:
        """Whether this run may pause the schedule: exactly one of several runs that trip the
        breaker together may (for PAUSE_HOLD; a retry of the same run holds it again)."""
        try:
            with translated_errors():
                updated = self._client.update_item(
                    TableName=self._table,
                    Key=_BREAKER_KEY,
                    UpdateExpression="SET pausingBy = :arn, pausingUntil = :until",
                    ConditionExpression=(
                        "attribute_not_exists(pausingUntil) OR pausingUntil < :now "
                        "OR pausingBy = :arn"
                    ),
                    ExpressionAttributeValues={
                        ":arn": {"S": execution_arn},
                        ":until": {"N": epoch(now + PAUSE_HOLD)},
                        ":now": {"N": epoch(now)},
                    },
                    ReturnValues="ALL_OLD",
                )
        except ClientError as error:
            if condition_failed(error):
                return PauseClaim(held=False, again=False)
            raise
        before = updated.get("Attributes", {})
        again = before.get("pausingBy", {}).get("S") == execution_arn and int(
            before.get("pausingUntil", {}).get("N", "0")
        ) >= int(epoch(now))
        return PauseClaim(held=True, again=again)

    def release_pause(self, execution_arn: str) -> None:
        """Give the claim up (the pause failed): the next failed scheduled run tries again."""
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=_BREAKER_KEY,
                    UpdateExpression="REMOVE pausingBy, pausingUntil",
                    ConditionExpression="pausingBy = :arn",
                    ExpressionAttributeValues={":arn": {"S": execution_arn}},
                )
        except ClientError as error:
            if not condition_failed(error):
                raise


class PauseClaim(NamedTuple):
    held: bool  # this run may pause the schedule
    again: bool  # it already held the claim: a retry of its own step
