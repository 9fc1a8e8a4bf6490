"""Which final reports a run must send: the rules over the ledger's report items and the
lineage's images, pure (no AWS), so each is tested on its own.

An image's report goes PENDING (owed) -> CLAIMED (a run is sending it: claimer, claimedAt)
-> REPORTED (the e-mail went out; marked by the workflow right after SNS accepted it).
A claim that never got its REPORTED mark (the run stopped, or SNS refused it for the whole
send step) is owed again once it is older than CLAIM_HOLD.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from image_updater.domain import naming
from image_updater.domain.lineage import Lineage
from image_updater.models import AVAILABLE, FAILED, ImageSummary

PENDING, CLAIMED, REPORTED = "PENDING", "CLAIMED", "REPORTED"
IMAGE_PREFIX = "image#"  # the sort key of an image's report item: image#<name>
# From the claim (check or poll) to the REPORTED mark a run takes at most about 40 minutes,
# every retry exhausted: retention (5 attempts of a 2-minute Lambda, ~4 min of waits), the
# e-mail's text (a 30-second Lambda, Lambda service retries ~1 min), the send (4 attempts,
# 35 s of waits) and the mark. Twice that and more: a claim this old is abandoned.
CLAIM_HOLD = timedelta(hours=2)
# Sent reports are kept this long (TTL), so that no run reports them again. Owed and claimed
# ones never expire: DynamoDB's TTL deletion is lazy, but it is real.
REPORTED_KEEP = timedelta(days=180)
# An image the updater built that the ledger has never heard of (the create's ledger write was
# lost) is reported late if it is the lineage's newest and was created this recently. Shorter
# than REPORTED_KEEP: a reported image this young still has its REPORTED item, so upgrading a
# deployment (or an expired item) never e-mails old images again.
UNRECORDED_WINDOW = timedelta(days=90)


def report_key(image: str) -> str:
    return IMAGE_PREFIX + image


class ReportRecord(NamedTuple):
    """One `image#<name>` item of the ledger."""

    status: str
    claimer: str | None = None
    claimed_at: datetime | None = None


def owed(records: Mapping[str, ReportRecord], now: datetime) -> set[str]:
    """Images whose report is owed: never claimed, or claimed so long ago that the claimer
    must have stopped before its e-mail was marked sent."""
    return {
        name
        for name, record in records.items()
        if record.status == PENDING
        or (
            record.status == CLAIMED
            and (record.claimed_at is None or now - record.claimed_at > CLAIM_HOLD)
        )
    }


def unrecorded(
    root: str,
    lineage: Lineage,
    records: Mapping[str, ReportRecord],
    now: datetime,
    tags_of: Callable[[str], Mapping[str, str]],
) -> ImageSummary | None:
    """The lineage's newest image, if the updater built it for `root` (its lineage tag), it
    has settled, it was created within UNRECORDED_WINDOW, and the ledger holds no item for it
    at all. Only the newest: an older one was followed by a newer update, and if it was never
    reported it belongs to a time the ledger no longer remembers."""
    dated = [(created, image) for image in lineage.members if (created := _created(image))]
    if not dated:
        return None
    created, newest = max(dated, key=lambda pair: pair[0])
    if (
        newest.name in records
        or newest.state not in (AVAILABLE, FAILED)
        or now - created > UNRECORDED_WINDOW
        or tags_of(newest.arn).get(naming.LINEAGE_ROOT_TAG) != root
    ):
        return None
    return newest


def _created(image: ImageSummary) -> datetime | None:
    if not image.created_time:
        return None
    created = datetime.fromisoformat(image.created_time.replace("Z", "+00:00"))
    return created if created.tzinfo else created.replace(tzinfo=UTC)
