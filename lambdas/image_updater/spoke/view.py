"""A spoke's `AccountView`: the hub's images as this account sees them, and this account's
fleets, given those images by their ARNs."""

from __future__ import annotations

from image_updater.spoke.fleets import SpokeFleets
from image_updater.spoke.images import HubImages


class HubView:
    def __init__(self) -> None:
        self._images = HubImages()

    def images(self) -> HubImages:
        return self._images

    def fleets(self) -> SpokeFleets:
        return SpokeFleets(self._images)
