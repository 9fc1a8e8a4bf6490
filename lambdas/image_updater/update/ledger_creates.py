"""The create step's part of the ledger: the account-wide updates lock and the record of every
create the updater sent (see `recorded_creates.py` for what a record decides).

Both live under the key `#updates` (no image name starts with `#`): `lock`, the same expiring
lock as a lineage's, held while a create counts the updates running and starts one, so that
two runs cannot both see a free slot (`maxConcurrentUpdates`); and `create#<name>`, one item
per create, written before CreateUpdatedImage is sent, marked accepted after, and deleted only
when AppStream refused for sure. Poll reads one record (an image AppStream does not find is
still being built while its record holds). Records expire (TTL) a day after they stop
mattering; the code never relies on that, it ignores records older than `UNCONFIRMED_HOLD`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from image_updater.ledger import epoch, translated_errors
from image_updater.update.ledger import UpdateLedger
from image_updater.update.recorded_creates import UNCONFIRMED_HOLD, RecordedCreate

UPDATES_KEY = "#updates"
_CREATE_PREFIX = "create#"
RECORD_KEEP = UNCONFIRMED_HOLD + timedelta(days=1)


class CreateLedger(UpdateLedger):
    """The ledger as the create step uses it (and poll, which reads one create's record)."""

    def acquire_updates(self, owner: str, now: datetime) -> bool:
        """Take the account-wide updates lock for `owner` (free, expired, or its own)."""
        return self._take_lock(UPDATES_KEY, owner, now)

    def release_updates(self, owner: str) -> None:
        self._give_back_lock(UPDATES_KEY, owner)

    def record_create(self, create: RecordedCreate) -> None:
        """Write (or overwrite, to mark it accepted) the record of one create."""
        with translated_errors():
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": UPDATES_KEY},
                    "sk": {"S": _CREATE_PREFIX + create.name},
                    "root": {"S": create.root},
                    "source": {"S": create.source},
                    "run": {"S": create.run},
                    "recordedAt": {"N": epoch(create.recorded_at)},
                    "accepted": {"BOOL": create.accepted},
                    "expiresAt": {"N": epoch(create.recorded_at + RECORD_KEEP)},
                },
            )

    def forget_create(self, name: str) -> None:
        """AppStream refused the create for sure: it never happened."""
        with translated_errors():
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": {"S": UPDATES_KEY}, "sk": {"S": _CREATE_PREFIX + name}},
            )

    def recorded_create(self, name: str) -> RecordedCreate | None:
        """The record of the create of image `name`, read strongly consistent, if any."""
        with translated_errors():
            item = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": UPDATES_KEY}, "sk": {"S": _CREATE_PREFIX + name}},
                ConsistentRead=True,
            ).get("Item")
        return _record(item) if item else None

    def recorded_creates(self) -> list[RecordedCreate]:
        """Every create on record, read strongly consistent (stale ones included)."""
        records: list[RecordedCreate] = []
        with translated_errors():
            paginator = self._client.get_paginator("query")
            for page in paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :updates AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":updates": {"S": UPDATES_KEY},
                    ":prefix": {"S": _CREATE_PREFIX},
                },
                ConsistentRead=True,
            ):
                records += [_record(item) for item in page["Items"]]
        return records


def _record(item: Mapping[str, Any]) -> RecordedCreate:
    return RecordedCreate(
        name=item["sk"]["S"][len(_CREATE_PREFIX) :],
        root=item["root"]["S"],
        source=item["source"]["S"],
        run=item["run"]["S"],
        recorded_at=datetime.fromtimestamp(int(item["recordedAt"]["N"]), UTC),
        accepted=item["accepted"]["BOOL"],
    )
