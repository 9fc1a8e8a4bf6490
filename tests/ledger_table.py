"""The ledger's table as the stacks declare it (infra/constructs/ledger.py): `pk` (partition)
and `sk` (sort), both strings, billed per request; created in moto's DynamoDB for the tests."""

from __future__ import annotations

from typing import Any

KEYS = {"pk": "HASH", "sk": "RANGE"}


def create_ledger_table(dynamodb: Any, name: str) -> None:
    """An empty ledger table `name`, through `dynamodb` (a client of the account it is in)."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": kind} for key, kind in KEYS.items()],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in KEYS],
        BillingMode="PAY_PER_REQUEST",
    )
