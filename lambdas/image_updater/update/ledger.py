"""The update's items in the ledger (the table: `image_updater/ledger.py`), keyed by the
lineage's root image:

- `lock`: held by the run that is about to start an update of the lineage, from its last
  look at the lineage until AppStream has answered the create. It expires by itself (a
  crashed Lambda cannot leave it behind), and the state machine retries a run that finds it
  taken; that retry then sees the new image (or its record, see `ledger_creates.py`) and
  follows it.
- `image#<name>`: an image the updater started (or followed) and its final report: PENDING
  (owed), CLAIMED by the run sending it (claimer = its execution id, claimedAt), REPORTED once
  SNS accepted the e-mail (the workflow's "Mark the report sent" step writes that). Whichever
  run first sees the image settle claims the report (a conditional write a retry of the same
  run passes again), so each image gets one "ready" or "failed" e-mail, even when several runs
  follow it or the run that started it has given up; a claim never marked sent is owed again
  after `reports.CLAIM_HOLD`. Only REPORTED items expire (see `reports.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from image_updater.ledger import LedgerTable, epoch
from image_updater.update.reports import (
    CLAIM_HOLD,
    CLAIMED,
    IMAGE_PREFIX,
    PENDING,
    REPORTED,
    ReportRecord,
)

LOCK_KEY = "lock"
# Longer than any create step can take (its Lambda timeout is 30 s), short enough that a
# crashed holder delays the lineage's next attempt by minutes only.
LOCK_HOLD = timedelta(minutes=3)


class UpdateLedger(LedgerTable):
    """The ledger as check, create and poll use it: the lineage's lock and its reports."""

    # --- the lineage lock --------------------------------------------------------------------

    def acquire_lineage(self, root: str, owner: str, now: datetime) -> bool:
        """Take the lineage's lock for `owner`, if it is free, expired, or `owner`'s already."""
        return self._take_lock(root, owner, now)

    def release_lineage(self, root: str, owner: str) -> None:
        self._give_back_lock(root, owner)

    def _take_lock(self, pk: str, owner: str, now: datetime) -> bool:
        return self._put_if(
            "attribute_not_exists(pk) OR expiresAt < :now OR #owner = :owner",
            {
                "pk": {"S": pk},
                "sk": {"S": LOCK_KEY},
                "owner": {"S": owner},
                "expiresAt": {"N": epoch(now + LOCK_HOLD)},
            },
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":now": {"N": epoch(now)}, ":owner": {"S": owner}},
        )

    def _give_back_lock(self, pk: str, owner: str) -> None:
        # Not given back (None) when it expired and another run took it meanwhile: theirs now.
        self._if_condition_holds(
            self._client.delete_item,
            Key={"pk": {"S": pk}, "sk": {"S": LOCK_KEY}},
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": {"S": owner}},
        )

    # --- reports owed ------------------------------------------------------------------------

    def expect_report(self, root: str, image: str, now: datetime) -> None:
        """Remember that `image` owes its final report (once; a report sent stays sent)."""
        self._put_if(
            "attribute_not_exists(pk)",
            {
                "pk": {"S": root},
                "sk": {"S": IMAGE_PREFIX + image},
                "status": {"S": PENDING},  # no expiresAt: a report owed never expires
            },
        )

    def report_records(self, root: str) -> dict[str, ReportRecord]:
        """Every report item of the lineage, owed, claimed or sent, by image name."""
        records: dict[str, ReportRecord] = {}
        for image, item in self._items_under(root, IMAGE_PREFIX):
            claimed_at = item.get("claimedAt", {}).get("N")
            records[image] = ReportRecord(
                status=item.get("status", {}).get("S", REPORTED),
                claimer=item.get("claimer", {}).get("S"),
                claimed_at=datetime.fromtimestamp(int(claimed_at), UTC) if claimed_at else None,
            )
        return records

    def claim_report(self, root: str, image: str, claimer: str, now: datetime) -> bool:
        """True for the one run that must send `image`'s final report: the first to claim it
        (it may have no item yet: a create whose ledger write was lost), the claimer again (a
        retry of its step, or the SDK re-sending this very request after a lost response), or
        whoever finds a claim older than CLAIM_HOLD that was never marked sent."""
        claimed = self._if_condition_holds(
            self._client.update_item,
            Key={"pk": {"S": root}, "sk": {"S": IMAGE_PREFIX + image}},
            UpdateExpression=(
                "SET #status = :claimed, claimer = :me, claimedAt = :now REMOVE expiresAt"
            ),
            ConditionExpression=(
                "attribute_not_exists(pk) OR #status = :pending OR "
                "(#status = :claimed AND (claimer = :me OR claimedAt < :stale))"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":claimed": {"S": CLAIMED},
                ":pending": {"S": PENDING},
                ":me": {"S": claimer},
                ":now": {"N": epoch(now)},
                ":stale": {"N": epoch(now - CLAIM_HOLD)},
            },
        )
        return claimed is not None
