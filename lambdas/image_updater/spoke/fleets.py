"""This account's fleets, for a spoke's roll-out: the hub's roll-out code names the new image
by its name, and a shared image can only be given to UpdateFleet by its ARN (AppStream looks
a name up among this account's own images), so a name of one of the hub's images is turned
into its ARN here. Any other image (a rollback target of this account's own) goes as it is."""

from __future__ import annotations

from image_updater.integrations.appstream.fleets import AppStreamFleets
from image_updater.spoke.images import HubImages


class SpokeFleets(AppStreamFleets):
    def __init__(self, hub_images: HubImages | None = None) -> None:
        super().__init__()
        self._hub_images = hub_images or HubImages()

    def set_image(self, name: str, image: str) -> None:
        if not image.startswith("arn:"):
            image = self._hub_images.arn_of(image) or image
        super().set_image(name, image)
