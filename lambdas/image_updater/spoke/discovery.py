"""Which images shared with this account are the hub's new images: pure rules, no AWS.

An image counts only when all of these hold: its ARN names the hub's account (anyone can
share an image with any account, and only the ARN's account field is AppStream's word on who
owns it), its name is derived from a configured root (`naming.is_derived_name`), its
description (immutable, like the name) ends with the updater's marker, and it is AVAILABLE.
Tags cannot help: CopyImage does not copy them and a consumer cannot read the owner's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from image_updater.domain import naming
from image_updater.domain.lineage import Lineage
from image_updater.models import AVAILABLE, ImageSummary


def arn_account(arn: str) -> str | None:
    """The account field of an AppStream ARN (`arn:partition:appstream:region:account:...`)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "appstream":
        return None
    return parts[4]


def is_hub_member(root: str, image: Mapping[str, Any], hub_account: str) -> bool:
    """`image` (AppStream's Image shape) is one the hub's updater built for `root`'s lineage,
    in any state."""
    description = image.get("Description")
    return (
        arn_account(str(image.get("Arn") or "")) == hub_account
        and naming.is_derived_name(root, str(image.get("Name") or ""))
        and isinstance(description, str)
        and description.endswith(naming.DESCRIPTION_MARKER)
    )


def lineage_members(
    root: str, images: Iterable[Mapping[str, Any]], hub_account: str
) -> list[ImageSummary]:
    return [
        ImageSummary.from_appstream(dict(image))
        for image in images
        if is_hub_member(root, image, hub_account)
    ]


def newest_candidates(
    roots: Sequence[str], images: Iterable[Mapping[str, Any]], hub_account: str
) -> dict[str, ImageSummary]:
    """Root -> the newest AVAILABLE image of its lineage the hub built (roots without one are
    left out). An older image is never a candidate: the roll-out always takes the newest."""
    seen = list(images)
    newest: dict[str, ImageSummary] = {}
    for root in roots:
        members = lineage_members(root, seen, hub_account)
        found = Lineage(root=None, members=tuple(members)).newest_available()
        if found is not None and found.state == AVAILABLE:
            newest[root] = found
    return newest
