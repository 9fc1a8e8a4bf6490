"""The handler tests share boto3's default session (tests/handlers/conftest.py's ledger_table):
a new session per test reads botocore's data from disk again. The shared one is the session the
simulation keeps, so moto's stubber and the simulation's hooks are on every client built."""

from __future__ import annotations

import boto3
import botocore.handlers

from rehearsal.appstream import hooks


def test_the_ledger_is_made_through_the_kept_hooked_session(ledger_table: str) -> None:
    kept = hooks._hooked_session
    assert kept is not None
    session, handlers = kept
    assert boto3.DEFAULT_SESSION is session
    assert handlers == tuple(botocore.handlers.BUILTIN_HANDLERS)
    # ...and moto answers its clients: the ledger table is there
    assert boto3.client("dynamodb").describe_table(TableName=ledger_table)["Table"]
