"""Which of a lineage's images to delete, and why each other one is kept. Pure: the facts are
gathered by the service; every rule that protects an image is here, and tested here.

An image is deleted only when ALL of these hold:
- the updater created it for this lineage, as its lineage tag confirms (a name and
  description alone are enough to follow a lineage, never to delete from it);
- it is not the configured root image;
- it is AVAILABLE or FAILED, and not among the newest `keepImages` AVAILABLE ones;
- no fleet uses it (by name or ARN), no image builder was started from it;
- no fleet the roll-out changed records it as its previous image (its rollback target);
- it is not the source of an update in progress;
- it was created at least a day ago;
- (a copy in another Region) the hub's Region does not keep its image among its newest
  `keepImages`: every Region offers the images the hub still offers;
- it is not shared with another account, or every account it is shared with was read through
  its reader role and reports no fleet using it and no rollback record naming it: then it is
  unshared from each of them first (`Decision.unshare`), and deleted in the same run.
  An account that could not be read (no spoke, role missing, refused, throttled), one that
  uses it, or a share with an account `shareWithAccounts` does not name keeps it shared and
  kept. Removing a share sets that account's fleets on the image to desired capacity 0, so
  nothing short of a fresh reading that says "unused" removes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from image_updater.models import AVAILABLE, FAILED, ImageSummary

MIN_AGE = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ConsumerUse(NamedTuple):
    """What an account the image is shared with reports about it, read at decision time
    through that account's reader role (never a pushed, possibly stale, copy)."""

    account_id: str
    unreadable: str | None = None  # why it could not be read: the share stays
    fleets: tuple[str, ...] = ()  # its fleets running the image (by name or ARN)
    rollback_for: tuple[str, ...] = ()  # its fleets whose rollback record names the image
    image_builders: tuple[str, ...] = ()  # its image builders started from the image

    def holds(self) -> str | None:
        """Why this account's share must stay, or None when it may be removed."""
        if self.unreadable is not None:
            return f"could not be read: {self.unreadable}"
        return _first_use(
            (self.fleets, "runs it on fleet {}"),
            (self.rollback_for, "records it as the rollback target of fleet {}"),
            (self.image_builders, "started image builder {} from it"),
        )


def _first_use(*uses: tuple[Sequence[str], str]) -> str | None:
    """The first use that names anything, worded with its names ({}), or None."""
    for names, wording in uses:
        if names:
            return wording.format(", ".join(names))
    return None


NOT_READ = "shareWithAccounts does not name it, so the updater has no reader role to ask"


class LineageImage(NamedTuple):
    """An image of the lineage and everything that may protect it."""

    image: ImageSummary
    tag_confirmed: bool
    fleets: tuple[str, ...] = ()
    image_builders: tuple[str, ...] = ()
    shared_with: tuple[str, ...] = ()
    source_of_update: str | None = None  # the image being built from it, if any
    rollback_for: tuple[str, ...] = ()  # fleets whose recorded previous image it is
    consumers: tuple[ConsumerUse, ...] = ()  # what the accounts in `shared_with` report
    kept_at_home: bool = False  # a copy whose image the hub's Region keeps among its newest


class Decision(NamedTuple):
    name: str
    delete: bool
    reason: str
    unshare: tuple[str, ...] = ()  # accounts whose share is removed (before any deletion)


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
    used = _first_use(
        (candidate.fleets, "in use by fleet {}"),
        (candidate.rollback_for, "rollback target of fleet {}"),
        (candidate.image_builders, "image builder {} was started from it"),
        (candidate.shared_with, "shared with account {}"),
    )
    if used is not None:
        return used
    if candidate.source_of_update:
        return f"it is the source of the update in progress ({candidate.source_of_update})"
    if now - _created(image) < MIN_AGE:
        return "created less than a day ago"
    if candidate.kept_at_home:
        return "the hub's Region keeps this image among its newest (keepImages)"
    return None


def sharing(candidate: LineageImage) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(accounts whose share may be removed, why each other share stays). An account with no
    reading is never unshared."""
    read = {use.account_id: use for use in candidate.consumers}
    removable: list[str] = []
    held: list[str] = []
    for account in candidate.shared_with:
        use = read.get(account, ConsumerUse(account, unreadable=NOT_READ))
        why = use.holds()
        if why is None:
            removable.append(account)
        else:
            held.append(f"account {account}, which {why}")
    return tuple(removable), tuple(held)


def _decide(candidate: LineageImage, root: str, keep: int, now: datetime) -> Decision:
    name = candidate.image.name
    reason = protection(candidate, root, now)
    unshared = candidate._replace(shared_with=())
    if not candidate.shared_with or protection(unshared, root, now) is not None:
        return Decision(
            name, reason is None, reason or f"older than the newest {keep} (keepImages)"
        )
    removable, held = sharing(candidate)
    if held:
        reason = f"shared with {'; '.join(held)}"
        if removable:
            reason += f" (unshared from {', '.join(removable)}: no longer used there)"
        return Decision(name, False, reason, unshare=removable)
    return Decision(
        name,
        True,
        f"older than the newest {keep} (keepImages); no account it was shared with "
        f"({', '.join(removable)}) uses it, so it was unshared first",
        unshare=removable,
    )


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
        decisions.append(_decide(candidate, root, keep, now))
    return RetentionPlan(keep_newest=tuple(sorted(newest)), decisions=tuple(decisions))
