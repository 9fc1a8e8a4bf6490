"""The spoke's own settings (see image_updater/settings.py for how they are read)."""

from __future__ import annotations

from image_updater.settings import FromEnvironment, _names, variable


class SpokeSettings(FromEnvironment):
    """discover, and the roll-out's steps that look at images: whose images count."""

    hub_account_id: str = variable("HUB_ACCOUNT_ID")
    configured_images: tuple[str, ...] = variable("CONFIGURED_IMAGES", _names)
