"""The fixed names through which the hub reads what each account it shares with uses: the
hub's retain role, the reader role each spoke stack creates for it, and the spoke's ledger.

Fixed and Region-qualified, because the hub and the spokes are deployed apart (the spokes by a
StackSet) and must find each other without passing ARNs around: one hub per account and
Region, one spoke per account and Region. The hub's retain role carries the hub's Region; the
spoke's reader role trusts the hub's retain role of any Region of the hub account
(`aws:PrincipalArn` with the prefix), since a spoke does not know which Region patches."""

from __future__ import annotations

HUB_RETAIN_ROLE_PREFIX = "AppStreamImageUpdaterHubRetain-"
READER_ROLE_PREFIX = "AppStreamImageUpdaterHubReader-"
SPOKE_LEDGER_TABLE = "AppStreamImageUpdaterSpokeLedger"


def reader_role_arn(partition: str, account: str, region: str) -> str:
    """The reader role a spoke stack in `account` and `region` creates for the hub."""
    return f"arn:{partition}:iam::{account}:role/{READER_ROLE_PREFIX}{region}"
