"""The accounts a hub image is shared with, as retention needs them (`SharesPort`): what each
one uses of the image, read at decision time through the reader role its spoke stack created
(infra/spoke/reader.py), and removing a share (DeleteImagePermissions).

One reading per account and Region per run (AssumeRole, then DescribeFleets, DescribeImageBuilders
and the rollback records of the spoke's ledger, every page): cached for every image asked about.
Any failure to read (no spoke, role missing, AccessDenied, throttled, the ledger missing) is the
reading's answer, never raised: the share then stays, and the e-mail says why.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from image_updater.errors import ImageUpdaterError
from image_updater.integrations.appstream.client import (
    PAGE_SIZE,
    client_config,
    pages,
    translated_errors,
)
from image_updater.models import ImageSummary
from image_updater.retention.policy import NOT_READ, ConsumerUse
from image_updater.retention.roles import SPOKE_LEDGER_TABLE, reader_role_arn
from image_updater.rollout.records import RollbackRecords

if TYPE_CHECKING:
    from mypy_boto3_appstream import AppStreamClient

SESSION_NAME = "appstream-image-updater-retention"


@cache
def regional(region: str | None) -> AppStreamClient:
    """A client of the change kind for `region` (None: the function's own): DeleteImage and
    DeleteImagePermissions are never re-sent by the SDK (a refusal reaches the e-mail, and
    the next run asks again)."""
    return boto3.client("appstream", region_name=region, config=client_config("change"))


class _Reading:
    """What one account runs in one Region: image name or ARN -> its fleets, builders, and
    the fleets whose rollback record names it."""

    def __init__(self, session: boto3.Session) -> None:
        appstream = session.client("appstream", config=client_config("read"))
        self.fleets: dict[str, list[str]] = {}
        for page in pages(appstream.describe_fleets):
            for fleet in page.get("Fleets", []):
                for key in ("ImageName", "ImageArn"):
                    if fleet.get(key):
                        self.fleets.setdefault(str(fleet[key]), []).append(fleet["Name"])
        self.builders: dict[str, list[str]] = {}
        for page in pages(appstream.describe_image_builders, MaxResults=PAGE_SIZE):
            for builder in page.get("ImageBuilders", []):
                if builder.get("ImageArn"):
                    self.builders.setdefault(builder["ImageArn"], []).append(builder["Name"])
        # Every record, whether or not its fleet still exists: a record can only keep more.
        records = RollbackRecords(SPOKE_LEDGER_TABLE, session.client("dynamodb")).every()
        self.rollback: dict[str, list[str]] = {}
        for record in records:
            for image in {record.previous_image, record.previous_image_arn} - {None}:
                self.rollback.setdefault(str(image), []).append(record.fleet)

    def use(self, account: str, image: ImageSummary) -> ConsumerUse:
        def of(found: dict[str, list[str]]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(found.get(image.name, []) + found.get(image.arn, [])))

        return ConsumerUse(
            account,
            fleets=of(self.fleets),
            rollback_for=of(self.rollback),
            image_builders=of(self.builders),
        )


class SpokeReaders:
    """`SharesPort` for one Region (None: the function's own), reading only `accounts` (the
    configured ones: the hub may assume no other account's role)."""

    def __init__(
        self,
        accounts: Collection[str],
        region: str | None = None,
        sts: Any = None,
        appstream: AppStreamClient | None = None,
    ) -> None:
        self._accounts = frozenset(accounts)
        self._region = region
        self._sts = sts
        self._appstream = appstream
        self._readings: dict[str, _Reading | str] = {}

    def use(self, account: str, image: ImageSummary) -> ConsumerUse:
        if account not in self._accounts:
            return ConsumerUse(account, unreadable=NOT_READ)
        if account not in self._readings:
            self._readings[account] = self._read(account, image.arn)
        reading = self._readings[account]
        if isinstance(reading, str):
            return ConsumerUse(account, unreadable=reading)
        return reading.use(account, image)

    def unshare(self, name: str, account: str) -> None:
        appstream = self._appstream or regional(self._region)
        with translated_errors():
            appstream.delete_image_permissions(Name=name, SharedAccountId=account)

    def _read(self, account: str, image_arn: str) -> _Reading | str:
        _arn, partition, _service, region, *_rest = image_arn.split(":")
        role = reader_role_arn(partition, account, region)
        try:
            sts = self._sts or boto3.client("sts", region_name=region)
            credentials = sts.assume_role(RoleArn=role, RoleSessionName=SESSION_NAME)["Credentials"]
            session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=region,
            )
            return _Reading(session)
        except (ClientError, BotoCoreError, ImageUpdaterError) as error:
            return f"{role}: {_described(error)}"


def _described(error: Exception) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        return f"{code}: {message}" if message else code
    return f"{type(error).__name__}: {error}"
