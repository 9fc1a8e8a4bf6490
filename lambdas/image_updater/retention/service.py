"""Gathers what protects each image of a lineage, deletes what the policy allows, and says
what it did. Never fails the update it follows: a refusal is reported and skipped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from image_updater.domain import naming
from image_updater.errors import shortened
from image_updater.integrations.appstream.client import DeletionRefused
from image_updater.models import SETTLED_STATES, ImageSummary
from image_updater.retention.policy import LineageImage, RetentionPlan, plan_retention

# What the e-mail and the workflow's state carry: bounded, whatever the lineage holds.
LISTED_MAX = 20


class RetentionPort(Protocol):
    def describe(self, name: str) -> ImageSummary: ...
    def tags(self, arn: str) -> dict[str, str]: ...
    def lineage_members(self, root: str) -> list[ImageSummary]: ...
    def shared_with(self, name: str) -> list[str]: ...
    def delete(self, name: str) -> None: ...


class ImageUsersPort(Protocol):
    """What runs images: an image one of them uses is never deleted."""

    def fleet_images(self) -> dict[str, list[str]]: ...
    def builder_images(self) -> dict[str, list[str]]: ...
    def rollback_targets(self) -> dict[str, list[str]]: ...


class RetentionResult(NamedTuple):
    deleted: tuple[str, ...]
    kept: tuple[tuple[str, str], ...]  # (image, why it was kept beyond keepImages)
    deleted_images: tuple[ImageSummary, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "deleted": list(self.deleted[:LISTED_MAX]),
            "kept": [
                {"name": name, "reason": shortened(reason, 300)}
                for name, reason in self.kept[:LISTED_MAX]
            ],
            "moreDeleted": max(0, len(self.deleted) - LISTED_MAX),
            "moreKept": max(0, len(self.kept) - LISTED_MAX),
        }


def lineage_images(root: str, images: RetentionPort, users: ImageUsersPort) -> list[LineageImage]:
    """Every image of the lineage with what protects it."""
    members = images.lineage_members(root)
    fleets = users.fleet_images()
    builders = users.builder_images()
    targets = users.rollback_targets()
    building_from = {
        images.tags(m.arn).get(naming.SOURCE_IMAGE_TAG, ""): m.name
        for m in members
        if m.state not in SETTLED_STATES
    }
    found = []
    for member in members:
        tags = images.tags(member.arn)
        found.append(
            LineageImage(
                image=member,
                tag_confirmed=tags.get(naming.LINEAGE_ROOT_TAG) == root,
                fleets=tuple(fleets.get(member.name, []) + fleets.get(member.arn, [])),
                image_builders=tuple(builders.get(member.arn, [])),
                rollback_for=tuple(
                    dict.fromkeys(targets.get(member.name, []) + targets.get(member.arn, []))
                ),
                shared_with=tuple(images.shared_with(member.name)),
                source_of_update=building_from.get(member.name),
            )
        )
    return found


def retire_old_images(
    root: str, images: RetentionPort, users: ImageUsersPort, keep: int, now: datetime
) -> RetentionResult:
    """Apply the policy to the lineage of `root`: delete what it allows, keep the rest."""
    if keep <= 0:
        return RetentionResult(deleted=(), kept=())
    known = lineage_images(root, images, users)
    by_name = {candidate.image.name: candidate.image for candidate in known}
    plan: RetentionPlan = plan_retention(root, known, keep, now)
    deleted: list[str] = []
    kept = [(d.name, d.reason) for d in plan.kept]
    for name in plan.to_delete:
        try:
            images.delete(name)
        except DeletionRefused as refusal:
            kept.append((name, f"AppStream refused to delete it: {refusal}"))
        else:
            deleted.append(name)
    return RetentionResult(
        deleted=tuple(deleted),
        kept=tuple(kept),
        deleted_images=tuple(by_name[name] for name in deleted),
    )


class QuotaFactsPort(RetentionPort, Protocol):
    def count_private_images(self) -> int: ...


def which_quota(refusal: str) -> str:
    """The quota AppStream's LimitExceededException names, in an admin's words."""
    text = refusal.lower()
    if "image builder" in text:
        return "image builders (default 10 per Region; every update runs a temporary one)"
    if "concurrent" in text or "update" in text:
        return "concurrent image updates (default 5 per Region)"
    if "image" in text:
        return "images (default 10 per Region)"
    return "an AppStream quota it did not name"


def explain_quota(
    refusal: str,
    root: str,
    images: QuotaFactsPort,
    keep: int,
    now: datetime,
    *,
    users: ImageUsersPort,
) -> str:
    """What a quota e-mail must say: which quota, how many images the account holds, which of
    the lineage's images retention would delete and why it has not. Best effort: a fact that
    cannot be read is said so, never raised."""
    lines = [f"AppStream refused the update: {refusal}", f"Quota reached: {which_quota(refusal)}."]
    try:
        held = images.count_private_images()
        lines.append(f"The account holds {held} image{'' if held == 1 else 's'} of its own.")
        if keep <= 0:
            lines.append("Retention is off (keepImages=0): the updater deletes none of its images.")
        else:
            plan = plan_retention(root, lineage_images(root, images, users), keep, now)
            beyond = [f"{d.name} ({d.reason})" for d in plan.decisions[:LISTED_MAX]]
            lines.append(
                f"Images of this lineage beyond keepImages={keep}: "
                + (
                    "; ".join(beyond)
                    if beyond
                    else "none; the updater's own images are not the cause"
                )
                + "."
            )
    except Exception as error:  # facts for the e-mail only; the refusal itself is the news
        lines.append(f"(Could not list the account's images: {type(error).__name__}: {error})")
    return " ".join(lines)


__all__: Sequence[str] = (
    "ImageUsersPort",
    "RetentionResult",
    "explain_quota",
    "retire_old_images",
    "which_quota",
)
