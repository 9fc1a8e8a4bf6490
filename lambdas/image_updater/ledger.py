"""The updater's memory across runs, in one DynamoDB table (on-demand: no cost at rest), and
what every capability's part of it shares: the client, the table, and one translation of
DynamoDB's errors.

Each capability keeps its items under keys of its own (no image name starts with `#`):
- the update (`update/ledger.py`): per lineage root, its `lock` and its images' final
  reports (`image#<name>`); under `#updates` (`update/ledger_creates.py`), the account-wide
  lock under which a create counts the updates running and starts one, and the record of
  each create sent (`create#<name>`), which a later look at a lineage believes while
  AppStream's listing lags;
- the breaker (`breaker/ledger.py`): `#breaker`, the count of failed scheduled runs;
- the approvals (`approval/ledger.py`): `#approval`; the roll-out's rollback records
  (`rollout/records.py`): `#rollback`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from image_updater.errors import LedgerUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CONDITION_FAILED = "ConditionalCheckFailedException"
_Answer = TypeVar("_Answer")


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
    """The ledger's table (LEDGER_TABLE unless given) and its client (created on first use)."""

    def __init__(self, table: str | None = None, client: DynamoDBClient | None = None) -> None:
        self._table = table or os.environ["LEDGER_TABLE"]
        self._given_client = client

    @property
    def _client(self) -> DynamoDBClient:
        """Created on the first call, not with the ledger: poll reads the table only when
        AppStream does not find the image, so its usual invocation never builds the client."""
        return self._given_client or default_client()

    def _items_under(self, pk: str, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(the rest of the sort key, the item) for every item of partition `pk` whose sort
        key starts with `prefix` (a strongly consistent Query, every page)."""
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": prefix}},
            "ConsistentRead": True,
        }
        with translated_errors():
            paginator = self._client.get_paginator("query")
            for page in paginator.paginate(**query):  # type: ignore[arg-type]
                for item in page["Items"]:
                    yield item["sk"]["S"][len(prefix) :], dict(item)

    def _if_condition_holds(self, write: Callable[..., _Answer], **request: Any) -> _Answer | None:
        """Send a conditional write (`request`, on this table): DynamoDB's answer, or None when
        the item's condition did not hold and nothing was written."""
        try:
            with translated_errors():
                return write(TableName=self._table, **request)
        except ClientError as error:
            if condition_failed(error):
                return None
            raise

    def _put_if(self, condition: str, item: dict[str, Any], **expression: Any) -> bool:
        """Write `item` only if `condition` holds of the item under its key (if any; its
        ExpressionAttributeNames and -Values in `expression`): whether it was written."""
        written = self._if_condition_holds(
            self._client.put_item, Item=item, ConditionExpression=condition, **expression
        )
        return written is not None
