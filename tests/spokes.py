"""A spoke stack's part in the hub's retention, "deployed" into a simulated account: the reader
role the hub assumes (the AppStream simulation's `Organisation`) and the spoke's ledger (moto's
DynamoDB, in that account, reached with the role's credentials). Call inside moto."""

from __future__ import annotations

from typing import Any

from image_updater.retention.roles import SPOKE_LEDGER_TABLE
from rehearsal.appstream import Organisation, SimulatedAppStream
from rehearsal.spoke_stack import spoke_ledger_client
from tests.ledger_table import create_ledger_table


def deploy_spoke(
    organisation: Organisation, account: str, region: str
) -> tuple[SimulatedAppStream, Any]:
    """The spoke in `account` and `region`: its simulated AppStream, and a DynamoDB client
    of that account (its ledger, empty, is SPOKE_LEDGER_TABLE)."""
    ledger = spoke_ledger_client(organisation, account, region)
    create_ledger_table(ledger, SPOKE_LEDGER_TABLE)
    return organisation.account(account, region), ledger
