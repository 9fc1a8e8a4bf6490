"""One Region's part of an image's distribution: copy (find ours first, never a second),
check the copy (re-tag it once AVAILABLE), share. Over one port per Region (`RegionImages`);
the adapter is integrations/appstream/regional.py.

Every decision is in `policy`; each step is safe to run again (the workflow retries them): a
copy is found by its name and the updater's description marker before one is made, tagging
and sharing set what they set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from image_updater.distribution import policy
from image_updater.distribution.models import (
    COPYING,
    NOT_OURS,
    RegionDistribution,
    ShareOutcome,
    ShareTarget,
)
from image_updater.errors import ImageUpdaterError
from image_updater.models import AVAILABLE, FAILED, SETTLED_STATES, ImageSummary


class CopyRefused(ImageUpdaterError):
    """CopyImage refused for good: the source is gone or not AVAILABLE, incompatible, or the
    account cannot copy (not retried: that Region's copy is reported failed)."""


class ShareRefused(ImageUpdaterError):
    """UpdateImagePermissions refused for good (image gone or not AVAILABLE, the accounts
    quota, an account AppStream does not accept): that account's share is reported failed."""


class RegionImages(Protocol):
    """One Region's images, as the distribution uses them."""

    @property
    def region(self) -> str: ...

    def find(self, name: str) -> ImageSummary | None: ...

    def tags(self, arn: str) -> dict[str, str]: ...

    def copy(self, name: str, destination: str, description: str) -> None: ...

    def tag(self, arn: str, tags: Mapping[str, str]) -> None: ...

    def share(self, name: str, target: ShareTarget) -> None: ...


def copy_to_region(
    item: RegionDistribution, home: RegionImages, destination: RegionImages
) -> RegionDistribution:
    """Our copy in the destination if there is one (a retried step, a lost answer), else a new
    copy with the source's name and description. LimitExceeded (the copies-per-destination
    quota) is raised for the workflow to retry later."""
    name, region = item.new_image_name, destination.region
    existing = destination.find(name)
    if existing is not None:
        return _copy_state(item, existing, region)
    source = home.find(name)
    if source is None or source.state != AVAILABLE:
        state = "gone" if source is None else source.state
        return item.settled(FAILED, f"the image in {home.region} is {state}: nothing to copy")
    if not policy.is_our_copy(item.root_image_name, source):
        return item.settled(FAILED, f"{name} in {home.region} is not the updater's image")
    assert source.description is not None  # is_our_copy checked it
    try:
        home.copy(name, region, source.description)
    except CopyRefused as refused:
        return item.settled(FAILED, f"CopyImage to {region} refused: {refused}")
    return item.settled(COPYING)


def check_copy(
    item: RegionDistribution,
    home: RegionImages,
    destination: RegionImages,
    configured_tags: Mapping[str, str],
) -> RegionDistribution:
    """The copy's state; once AVAILABLE it gets the lineage's tags (CopyImage copies none)."""
    region = destination.region
    image = destination.find(item.new_image_name)
    if image is None:
        return item.settled(FAILED, f"the copy in {region} disappeared while it was copied")
    if not policy.is_our_copy(item.root_image_name, image):
        return item.settled(NOT_OURS, policy.not_ours_reason(image, region))
    if image.state == FAILED:
        why = image.reason_message or image.reason_code or "no reason given"
        return item.settled(FAILED, f"the copy to {region} failed: {why}")
    if image.state != AVAILABLE:
        return item.polled(image.state if image.state not in SETTLED_STATES else COPYING)
    source = home.find(item.new_image_name)
    source_tags = home.tags(source.arn) if source is not None else {}
    destination.tag(image.arn, policy.copy_tags(item.root_image_name, source_tags, configured_tags))
    return item.settled(AVAILABLE)


def share_in_region(item: RegionDistribution, images: RegionImages) -> RegionDistribution:
    """Share the image with each account of this Region (idempotent: a share that exists gets
    the same permissions again). One account refused never stops the others."""
    if item.state != AVAILABLE:
        why = f"the image is not in {images.region} ({item.reason or item.state or 'no copy'})"
        return item.with_shares(tuple(ShareOutcome(t.account_id, False, why) for t in item.shares))
    outcomes = []
    for target in item.shares:
        try:
            images.share(item.new_image_name, target)
        except ShareRefused as refused:
            outcomes.append(ShareOutcome(target.account_id, False, str(refused)))
        else:
            outcomes.append(ShareOutcome(target.account_id, True))
    return item.with_shares(tuple(outcomes))


def _copy_state(item: RegionDistribution, image: ImageSummary, region: str) -> RegionDistribution:
    if not policy.is_our_copy(item.root_image_name, image):
        return item.settled(NOT_OURS, policy.not_ours_reason(image, region))
    if image.state == FAILED:
        return item.settled(FAILED, f"an earlier copy to {region} failed: remove it to copy again")
    return item.settled(COPYING)  # COPYING or AVAILABLE: check_copy re-tags an AVAILABLE one
