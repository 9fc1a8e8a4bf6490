"""Which of a lineage's images to delete, and why each other one is kept. Pure: the facts are
gathered by the service; every rule that protects an image is here, and tested here.

An image is deleted only when ALL of these hold:
- the updater created it for this lineage, as its lineage tag confirms (a name and
  description alone are enough to follow a lineage, never to delete from it);
- it is not the configured root image;
- it is AVAILABLE or FAILED, and not among the newest `keepImages` AVAILABLE ones;
- no fleet uses it (by name or ARN), no image builder was started from it;
- no fleet the roll-out changed records it as its previous image (its rollback target);
- it is not shared with another account;
- it is not the source of an update in progress;
- it was created at least a day ago.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from image_updater.models import AVAILABLE, FAILED, ImageSummary

MIN_AGE = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LineageImage(NamedTuple):
    """An image of the lineage and everything that may protect it."""

    image: ImageSummary
    tag_confirmed: bool
    fleets: tuple[str, ...] = ()
    image_builders: tuple[str, ...] = ()
    shared_with: tuple[str, ...] = ()
    source_of_update: str | None = None  # the image being built from it, if any
    rollback_for: tuple[str, ...] = ()  # fleets whose recorded previous image it is


class Decision(NamedTuple):
    name: str
    delete: bool
    reason: str


class RetentionPlan(NamedTuple):
    keep_newest: tuple[str, ...] = ()
    decisions: tuple[Decision, ...] = ()

    @property
    def to_delete(self) -> list[str]:
        return [d.name for d in self.decisions if d.delete]

    @property
    def kept(self) -> list[Decision]:
        return [d for d in self.decisions if not d.delete]


def _created(image: ImageSummary) -> datetime:
    if not image.created_time:
        return _EPOCH
    created = datetime.fromisoformat(image.created_time.replace("Z", "+00:00"))
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def protection(candidate: LineageImage, root: str, now: datetime) -> str | None:
    """Why `candidate` must not be deleted, or None when nothing protects it."""
    image = candidate.image
    if image.name == root:
        return "it is the configured image"
    if not candidate.tag_confirmed:
        return "its lineage tag is missing, so it is not confirmed as the updater's own"
    if image.state not in (AVAILABLE, FAILED):
        return f"it is {image.state}"
    if candidate.fleets:
        return "in use by fleet " + ", ".join(candidate.fleets)
    if candidate.rollback_for:
        return "rollback target of fleet " + ", ".join(candidate.rollback_for)
    if candidate.image_builders:
        return "image builder " + ", ".join(candidate.image_builders) + " was started from it"
    if candidate.shared_with:
        return "shared with account " + ", ".join(candidate.shared_with)
    if candidate.source_of_update:
        return f"it is the source of the update in progress ({candidate.source_of_update})"
    if now - _created(image) < MIN_AGE:
        return "created less than a day ago"
    return None


def plan_retention(
    root: str, images: Sequence[LineageImage], keep: int, now: datetime
) -> RetentionPlan:
    """Keep the newest `keep` AVAILABLE images of the lineage; decide on every other one.
    `keep` 0 means retention is off: nothing is decided, nothing deleted."""
    if keep <= 0:
        return RetentionPlan()
    members = [c for c in images if c.image.name != root]
    available = sorted(
        (c for c in members if c.image.state == AVAILABLE and c.tag_confirmed),
        key=lambda c: _created(c.image),
        reverse=True,
    )
    newest = {c.image.name for c in available[:keep]}
    decisions = []
    for candidate in sorted(members, key=lambda c: _created(c.image)):
        if candidate.image.name in newest:
            continue
        reason = protection(candidate, root, now)
        decisions.append(
            Decision(
                name=candidate.image.name,
                delete=reason is None,
                reason=reason or f"older than the newest {keep} (keepImages)",
            )
        )
    return RetentionPlan(keep_newest=tuple(sorted(newest)), decisions=tuple(decisions))
