"""A spoke stack's part in the hub's retention, "deployed" into a simulated account: the reader
role the hub assumes (the AppStream simulation's `Organisation`) and the spoke's ledger (moto's
DynamoDB, in that account, reached with the role's credentials). Call inside moto."""

from __future__ import annotations

from typing import Any

import boto3

from image_updater.retention.roles import SPOKE_LEDGER_TABLE, reader_role_arn
from rehearsal.appstream import Organisation, SimulatedAppStream
from tests.ledger_table import create_ledger_table


def deploy_spoke(
    organisation: Organisation, account: str, region: str
) -> tuple[SimulatedAppStream, Any]:
    """The spoke in `account` and `region`: its simulated AppStream, and a DynamoDB client
    of that account (its ledger, empty, is SPOKE_LEDGER_TABLE)."""
    arn = reader_role_arn("aws", account, region)
    organisation.create_role(arn)
    credentials = boto3.client("sts").assume_role(RoleArn=arn, RoleSessionName="deploy")[
        "Credentials"
    ]
    ledger = boto3.client(
        "dynamodb",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    create_ledger_table(ledger, SPOKE_LEDGER_TABLE)
    return organisation.account(account, region), ledger
