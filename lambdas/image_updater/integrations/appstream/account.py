"""This account's own images and fleets, as the roll-out's steps see them (`AccountView`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from image_updater.integrations.appstream.fleets import AppStreamFleets

if TYPE_CHECKING:
    from image_updater.integrations.appstream.images import AppStreamImages


class ThisAccount:
    """Holds nothing: each call makes its adapter (whose client is created on first use)."""

    def images(self) -> AppStreamImages:
        # Imported when asked for: only the plan and production read images (is a newer one
        # out?), so the canaries' actions never load the images' adapter and its naming rules.
        from image_updater.integrations.appstream.images import AppStreamImages

        return AppStreamImages()

    def fleets(self) -> AppStreamFleets:
        return AppStreamFleets()


THIS_ACCOUNT = ThisAccount()
