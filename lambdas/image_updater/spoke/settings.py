"""The spoke's functions' settings (see `image_updater.settings`)."""

from __future__ import annotations

from image_updater.settings import FromEnvironment, names, variable


class SpokeSettings(FromEnvironment):
    """A spoke's discover, and its roll-out steps that look at images: whose images count."""

    hub_account_id: str = variable("HUB_ACCOUNT_ID")
    configured_images: tuple[str, ...] = variable("CONFIGURED_IMAGES", names)
