"""The spoke's record of the images it has started rolling out, in its ledger (same table,
LEDGER_TABLE): one item per image, `#spoke` / `<image ARN>`, written once by a conditional
PutItem, never expiring. A schedule firing every hour, or two runs overlapping, therefore start
one roll-out per image and send its e-mails once; a run retried after its claim (a Lambda
retry of the same execution) finds its own claim and goes on."""

from __future__ import annotations

from image_updater.ledger import LedgerTable

PARTITION = "#spoke"  # discover's grant is limited to it (dynamodb:LeadingKeys)


class SpokeClaims(LedgerTable):
    def claim(self, image_arn: str, root: str, execution_id: str, at: str) -> bool:
        """Whether this execution rolls `image_arn` out: True when it claimed it now or had
        claimed it before; False when another execution did (now or in an earlier run)."""
        return self._put_if(
            "attribute_not_exists(pk) OR executionId = :me",
            {
                "pk": {"S": PARTITION},
                "sk": {"S": image_arn},
                "root": {"S": root},
                "executionId": {"S": execution_id},
                "claimedAt": {"S": at},
            },
            ExpressionAttributeValues={":me": {"S": execution_id}},
        )
