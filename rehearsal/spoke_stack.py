"""A spoke stack's part in the hub's retention, "deployed" into a simulated account: the reader
role the hub assumes (the AppStream simulation's `Organisation`) and the spoke's ledger (moto's
DynamoDB, in that account, reached with the role's credentials). Call inside moto."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import boto3

from image_updater.retention.roles import SPOKE_LEDGER_TABLE, reader_role_arn
from rehearsal.appstream import Organisation as Accounts


def spoke_ledger_client(accounts: Accounts, account: str, region: str) -> Any:
    """The spoke's reader role in `account` and `region` (its stack deployed), and a DynamoDB
    client of that account through it, for the spoke's ledger (inside moto)."""
    arn = reader_role_arn("aws", account, region)
    accounts.create_role(arn)
    credentials = boto3.client("sts").assume_role(RoleArn=arn, RoleSessionName="deploy")[
        "Credentials"
    ]
    return boto3.client(
        "dynamodb",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def deploy_spoke_stack(
    accounts: Accounts, account: str, region: str, table: Mapping[str, Any], items: Iterable[Any]
) -> None:
    """The spoke's reader role, and its ledger table as the spoke's template declares it,
    holding `items` (what the spoke's runs recorded)."""
    dynamodb = spoke_ledger_client(accounts, account, region)
    dynamodb.create_table(
        TableName=SPOKE_LEDGER_TABLE,
        KeySchema=table["KeySchema"],
        AttributeDefinitions=table["AttributeDefinitions"],
        BillingMode=table["BillingMode"],
    )
    for item in items:
        dynamodb.put_item(TableName=SPOKE_LEDGER_TABLE, Item=item)
