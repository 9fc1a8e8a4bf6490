"""The approvals' items in the updater's ledger (same table, LEDGER_TABLE), one per roll-out
waiting for a person, keyed `#approval` / `<execution ARN>|<root image>` (no image name
starts with `#`):

- the wait step writes the task token it waits with (a new one each time it waits again)
  and, the first time only, the approval's deadline;
- the approval function records the decision with the identity AWS verified (once: a
  conditional write), then answers the token;
- the verify step after the wait trusts the recorded decision, never the answer's content.

The token stays here, never in a log or an e-mail, and never goes back to a caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from image_updater.ledger import LedgerTable, condition_failed, translated_errors

PARTITION = "#approval"  # the approval functions' grants are limited to it (LeadingKeys)
_PK = PARTITION
# Kept well past the deadline (TTL deletes lazily, never early): a late answer still finds
# its record, and a decided record is kept for the audit.
KEEP_AFTER_DEADLINE = timedelta(days=30)


class AlreadyDecided(Exception):
    """The approval has a recorded decision already."""


class ApprovalAlreadyDecided(Exception):
    """The wait step found a decision already recorded (it came while the roll-out was
    between two waits): the workflow goes straight to the verify step (the wait's Catch of
    every error), which takes it."""


@dataclass(frozen=True)
class ApprovalRecord:
    execution_arn: str
    image: str
    new_image_name: str
    token: str
    deadline: datetime
    waits: int
    decision: str | None = None
    by: str | None = None
    reason: str | None = None
    at: str | None = None

    def decided(self) -> dict[str, Any] | None:
        """The decision as the workflow carries it on, or None."""
        if self.decision is None:
            return None
        return {
            "decision": self.decision,
            "by": self.by,
            "reason": self.reason,
            "at": self.at,
            "verified": True,
        }


def _key(execution_arn: str, image: str) -> dict[str, Any]:
    return {"pk": {"S": _PK}, "sk": {"S": f"{execution_arn}|{image}"}}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ApprovalLedger(LedgerTable):
    def await_answer(
        self, execution_arn: str, image: str, new_image_name: str, token: str, deadline: datetime
    ) -> None:
        """The wait step's token; `deadline` counts only the first time (waits after an
        ignored answer keep the original deadline). ApprovalAlreadyDecided if a decision is
        recorded already: no answer would come to this new token."""
        try:
            with translated_errors():
                self._update_wait(execution_arn, image, new_image_name, token, deadline)
        except ClientError as error:
            if condition_failed(error):
                raise ApprovalAlreadyDecided(execution_arn) from error
            raise

    def _update_wait(
        self, execution_arn: str, image: str, new_image_name: str, token: str, deadline: datetime
    ) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_key(execution_arn, image),
            UpdateExpression=(
                "SET #token = :token, newImageName = :new, "
                "deadline = if_not_exists(deadline, :deadline), "
                "expiresAt = if_not_exists(expiresAt, :expires) ADD waits :one"
            ),
            ConditionExpression="attribute_not_exists(decision)",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={
                ":token": {"S": token},
                ":new": {"S": new_image_name},
                ":deadline": {"S": _iso(deadline)},
                ":expires": {"N": str(int((deadline + KEEP_AFTER_DEADLINE).timestamp()))},
                ":one": {"N": "1"},
            },
        )

    def get(self, execution_arn: str, image: str) -> ApprovalRecord | None:
        with translated_errors():
            item = self._client.get_item(
                TableName=self._table, Key=_key(execution_arn, image), ConsistentRead=True
            ).get("Item")
        if not item:
            return None

        def text(name: str) -> str | None:
            value = item.get(name, {}).get("S")
            return str(value) if value is not None else None

        return ApprovalRecord(
            execution_arn=execution_arn,
            image=image,
            new_image_name=text("newImageName") or "",
            token=text("token") or "",
            deadline=datetime.fromisoformat((text("deadline") or "").replace("Z", "+00:00")),
            waits=int(item.get("waits", {}).get("N", "0")),
            decision=text("decision"),
            by=text("by"),
            reason=text("reason"),
            at=text("at"),
        )

    def decide(
        self, record: ApprovalRecord, *, decision: str, by: str, reason: str | None, at: datetime
    ) -> None:
        """Record the decision once, for the token read with `record`; AlreadyDecided if
        someone else's decision came first."""
        values: dict[str, Any] = {
            ":decision": {"S": decision},
            ":by": {"S": by},
            ":at": {"S": _iso(at)},
        }
        update = "SET decision = :decision, #by = :by, #at = :at"
        if reason:
            values[":reason"] = {"S": reason}
            update += ", reason = :reason"
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(record.execution_arn, record.image),
                    UpdateExpression=update,
                    ConditionExpression="attribute_exists(pk) AND attribute_not_exists(decision)",
                    ExpressionAttributeNames={"#by": "by", "#at": "at"},
                    ExpressionAttributeValues=values,
                )
        except ClientError as error:
            if condition_failed(error):
                raise AlreadyDecided(record.execution_arn) from error
            raise
