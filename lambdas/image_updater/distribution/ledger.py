"""The distribution's items in the ledger (the table: `image_updater/ledger.py`), under the
lineage's root beside its final reports: `distribution#<name>`, an image's distribution owed
until its "distributed" e-mail went out (the rules: `owed.py`).

Every write is conditional, so that two overlapping runs never both hold one: a run claims an
image it is about to distribute only if no run did (or it did itself: a retry of its step),
and takes over an abandoned claim only from the claimer it saw abandon it.
"""

from __future__ import annotations

from datetime import datetime

from image_updater.distribution.owed import (
    DISTRIBUTION_PREFIX,
    DistributionRecord,
    distribution_key,
)
from image_updater.ledger import LedgerTable, epoch
from image_updater.update.reports import CLAIMED, REPORTED


class DistributionLedger(LedgerTable):
    def records(self, root: str) -> dict[str, DistributionRecord]:
        """Every distribution item of the lineage, owed or sent, by image name."""
        return {
            image: DistributionRecord(
                status=item.get("status", {}).get("S", REPORTED),
                claimer=item.get("claimer", {}).get("S"),
                outcome=item.get("outcome", {}).get("S"),
            )
            for image, item in self._items_under(root, DISTRIBUTION_PREFIX)
        }

    def claim(self, root: str, image: str, outcome: str, claimer: str, now: datetime) -> bool:
        """True for the one run that distributes `image` now: the first to claim it, or the
        claimer again (a retry of its step, or the SDK re-sending this very request)."""
        return self._claimed(
            root,
            image,
            claimer,
            now,
            condition="attribute_not_exists(pk) OR (#status = :claimed AND claimer = :me)",
            outcome=outcome,
        )

    def take_over(
        self, root: str, image: str, abandoned_by: str, claimer: str, now: datetime
    ) -> bool:
        """True for the one run that resumes a distribution `abandoned_by` left owed (or the
        same run again); False when another run took it first or it was sent meanwhile."""
        return self._claimed(
            root,
            image,
            claimer,
            now,
            condition="#status = :claimed AND (claimer = :before OR claimer = :me)",
            before=abandoned_by,
        )

    def _claimed(
        self,
        root: str,
        image: str,
        claimer: str,
        now: datetime,
        *,
        condition: str,
        outcome: str | None = None,
        before: str | None = None,
    ) -> bool:
        values = {
            ":claimed": {"S": CLAIMED},
            ":me": {"S": claimer},
            ":now": {"N": epoch(now)},
        }
        update = "SET #status = :claimed, claimer = :me, claimedAt = :now"
        if outcome is not None:
            values[":outcome"] = {"S": outcome}
            update += ", outcome = :outcome"
        if before is not None:
            values[":before"] = {"S": before}
        claimed = self._if_condition_holds(
            self._client.update_item,
            Key={"pk": {"S": root}, "sk": {"S": distribution_key(image)}},
            # No expiresAt while owed: a distribution owed never expires.
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )
        return claimed is not None
