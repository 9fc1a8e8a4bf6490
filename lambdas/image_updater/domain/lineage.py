"""Which image of a lineage to update, and whether an update of it is already under way.

After the first update of `Base`, the new image has the updates and `Base` still does not,
so a dry run on `Base` would answer "updates available" forever. Working on the lineage
(the root plus every image the updater created from it) is what keeps runs idempotent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from image_updater.models import AVAILABLE, FAILED, SETTLED_STATES, ImageSummary

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _created(image: ImageSummary) -> datetime:
    if not image.created_time:
        return _EPOCH
    created = datetime.fromisoformat(image.created_time.replace("Z", "+00:00"))
    return created if created.tzinfo else created.replace(tzinfo=UTC)


class Lineage(NamedTuple):
    """`root` is None when the configured image was deleted: its lineage carries on from the
    images the updater built from it."""

    root: ImageSummary | None
    members: tuple[ImageSummary, ...]

    def update_in_progress(self) -> ImageSummary | None:
        """The newest image the updater created that is still being built, if any."""
        building = [image for image in self.members if image.state not in SETTLED_STATES]
        return max(building, key=_created, default=None)

    def newest_settled_of(self, names: set[str]) -> ImageSummary | None:
        """The newest image the updater created, among `names`, that is AVAILABLE or FAILED."""
        settled = [m for m in self.members if m.name in names and m.state in (AVAILABLE, FAILED)]
        return max(settled, key=_created, default=None)

    def newest_available(self) -> ImageSummary | None:
        """The image every new update must start from. On a tie of creation times, an image
        the updater built wins over the root: it is the one with the updates."""
        candidates = (*((self.root,) if self.root else ()), *self.members)
        available = [image for image in candidates if image.state == AVAILABLE]
        return max(available, key=lambda i: (_created(i), i is not self.root), default=None)

    def newer_than(self, image: ImageSummary) -> str | None:
        """The name of the newest AVAILABLE image, if it was created after `image`: a roll-out
        of `image` is then superseded (it must never move a fleet backwards)."""
        newest = self.newest_available()
        if newest is None or newest.name == image.name:
            return None
        if (newest.created_time or "") <= (image.created_time or ""):
            return None
        return newest.name
