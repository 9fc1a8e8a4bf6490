"""The ledger's own record of the creates the updater sent, and when that record, rather than
AppStream's listing, decides what a run may do.

AWS does not document that DescribeImages lists an image the moment CreateUpdatedImage has
accepted it. So the create step records each create in the ledger (strongly consistent)
before sending it, and a later look at the lineage believes the record while the listing may
still lag: a recorded create the listing does not show is an update in progress for
`UNCONFIRMED_HOLD` after it was recorded. After that, an image still absent means the create
never happened (refused, or never sent): the record is stale and ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

# Far longer than the create step itself (its Lambda timeout is 30 s, and the record is
# written before the call) plus any listing delay AWS's eventual consistency is known for
# (seconds); short enough that a create that never happened holds the lineage back only
# within one run's retries of LineageBusy (1 + 2.5 + 6.25 + 15.6 minutes).
UNCONFIRMED_HOLD = timedelta(minutes=15)


class RecordedCreate(NamedTuple):
    """One CreateUpdatedImage the updater sent (or was about to send): `accepted` once
    AppStream said yes; a record whose answer was lost stays unaccepted, outcome unknown."""

    name: str  # the new image's
    root: str  # the lineage's
    source: str  # the image it is built from
    run: str  # the execution that sent it
    recorded_at: datetime
    accepted: bool = False

    def holds_until(self) -> datetime:
        return self.recorded_at + UNCONFIRMED_HOLD

    def holds(self, now: datetime) -> bool:
        """Whether an image the listing does not show still counts as being built."""
        return now < self.holds_until()


def unconfirmed(
    records: Iterable[RecordedCreate], listed: Sequence[str], now: datetime
) -> list[RecordedCreate]:
    """The recorded creates that still count as updates in progress although the listing
    (`listed`: the image names AppStream showed) does not show them. Oldest first."""
    shown = set(listed)
    live = [r for r in records if r.name not in shown and r.holds(now)]
    return sorted(live, key=lambda r: r.recorded_at)
