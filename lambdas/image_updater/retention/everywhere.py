"""Retention in every Region the hub holds the lineage in: its own first, then each copy
Region (`copyToRegions`), each with its own images quota.

It runs in the retain step, after every settled update, before the new image is distributed:
the one step that always runs. A copy Region keeps its newest `keepImages` AVAILABLE copies,
so an image whose distribution failed there (no AVAILABLE copy) never pushes the Region's last
good copy out; and it never deletes the copy of an image the hub's Region keeps among its
newest. One Region failing is reported and never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from image_updater.errors import shortened
from image_updater.retention.service import (
    ImageUsersPort,
    RetentionPort,
    RetentionResult,
    SharesPort,
    retire_old_images,
)

# The ports of one Region (None: the hub's own).
RegionPorts = Callable[[str | None], tuple[RetentionPort, ImageUsersPort, SharesPort | None]]


def retire_everywhere(
    root: str, regions: Sequence[str], ports: RegionPorts, keep: int, now: datetime
) -> tuple[RetentionResult, list[RetentionResult | tuple[str, str]]]:
    """The hub Region's result, and each copy Region's: its result, or (Region, the error
    that stopped retention there)."""
    images, users, shares = ports(None)
    home = retire_old_images(root, images, users, keep, now, shares=shares)
    home_keeps = frozenset(home.newest)
    found: list[RetentionResult | tuple[str, str]] = []
    for region in regions:
        try:
            images, users, shares = ports(region)
            found.append(
                retire_old_images(
                    root,
                    images,
                    users,
                    keep,
                    now,
                    shares=shares,
                    home_keeps=home_keeps,
                    region=region,
                )
            )
        except Exception as error:  # one Region never hides the others; the e-mail says it
            found.append((region, shortened(f"{type(error).__name__}: {error}", 300)))
    return home, found


def to_json(
    home: RetentionResult, regions: list[RetentionResult | tuple[str, str]]
) -> dict[str, Any]:
    """What the workflow carries to the e-mail: the hub Region's as before, plus what was
    unshared there and each copy Region's part (only when there is any: a hub that neither
    copies nor shares carries exactly what it did)."""
    found = home.to_json()
    if home.unshared:
        found["unshared"] = home.to_region_json()["unshared"]
    if regions:
        found["regions"] = [
            r.to_region_json()
            if isinstance(r, RetentionResult)
            else {"region": r[0], "error": r[1]}
            for r in regions
        ]
    return found
