"""Rollback records: the image each fleet ran before the updater changed it, kept in the
updater's own table (the ledger), where only the updater writes.

One item per fleet, pk `#rollback` (no image name starts with `#`, so it never meets the
ledger's lineage items), sk the fleet's name; no TTL: a record matters until the fleet is
rolled back or changed again, however long that takes. The fleet's tags
`AppStreamImageUpdater:PreviousImage` and `:RolledOutImage` mirror the record so an admin
sees it in the console; they are never read as the authority (anyone who may tag the fleet
may rewrite them). A rollback whose fleet's tags disagree with its record is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from image_updater.ledger import LedgerTable, translated_errors
from image_updater.rollout.models import PREVIOUS_IMAGE_TAG, ROLLED_OUT_TAG

PARTITION = "#rollback"


class RollbackRecord(NamedTuple):
    fleet: str
    previous_image: str  # as the fleet named it (its name, else its ARN): the tags' mirror
    previous_image_arn: str | None  # what a rollback asks UpdateFleet for (shared: ARN only)
    rolled_out: str  # the image the change put the fleet on
    execution_id: str  # the run that changed it
    recorded_at: str

    @property
    def target(self) -> str:
        """What UpdateFleet is given to put the fleet back: the ARN whenever it is known."""
        return self.previous_image_arn or self.previous_image

    def names(self, image: str | None) -> bool:
        return image is not None and image in (self.previous_image, self.previous_image_arn)

    def mirror(self) -> dict[str, str]:
        """The fleet tags that show this record."""
        return {PREVIOUS_IMAGE_TAG: self.previous_image, ROLLED_OUT_TAG: self.rolled_out}


def disagreement(record: RollbackRecord, tags: Mapping[str, str]) -> str | None:
    """Why the fleet's tags do not show `record` (someone changed them), or None."""
    previous, rolled_out = tags.get(PREVIOUS_IMAGE_TAG), tags.get(ROLLED_OUT_TAG)
    if record.names(previous) and rolled_out == record.rolled_out:
        return None
    return (
        f"its tags say {PREVIOUS_IMAGE_TAG}={previous!r}, {ROLLED_OUT_TAG}={rolled_out!r}, "
        f"but the updater recorded {record.previous_image!r}, {record.rolled_out!r}: the "
        "tags were changed outside the updater (see CloudTrail, TagResource)"
    )


def _key(fleet: str) -> dict[str, Any]:
    return {"pk": {"S": PARTITION}, "sk": {"S": fleet}}


def _from_item(item: dict[str, Any]) -> RollbackRecord:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return str(value) if value is not None else None

    return RollbackRecord(
        fleet=str(text("sk")),
        previous_image=str(text("previousImage")),
        previous_image_arn=text("previousImageArn"),
        rolled_out=str(text("rolledOut")),
        execution_id=text("executionId") or "",
        recorded_at=text("recordedAt") or "",
    )


class RollbackRecords(LedgerTable):
    def get(self, fleet: str) -> RollbackRecord | None:
        with translated_errors():
            item = self._client.get_item(
                TableName=self._table, Key=_key(fleet), ConsistentRead=True
            ).get("Item")
        return _from_item(dict(item)) if item else None

    def put(self, record: RollbackRecord) -> None:
        item: dict[str, Any] = {
            **_key(record.fleet),
            "previousImage": {"S": record.previous_image},
            "rolledOut": {"S": record.rolled_out},
            "executionId": {"S": record.execution_id},
            "recordedAt": {"S": record.recorded_at},
        }
        if record.previous_image_arn:
            item["previousImageArn"] = {"S": record.previous_image_arn}
        with translated_errors():
            self._client.put_item(TableName=self._table, Item=item)

    def forget(self, fleet: str) -> None:
        with translated_errors():
            self._client.delete_item(TableName=self._table, Key=_key(fleet))

    def every(self) -> list[RollbackRecord]:
        """Every fleet's record (one partition; strongly consistent)."""
        found: list[RollbackRecord] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": PARTITION}},
            "ConsistentRead": True,
        }
        while True:
            with translated_errors():
                page = self._client.query(**request)
            found += [_from_item(dict(item)) for item in page.get("Items", [])]
            if not page.get("LastEvaluatedKey"):
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
