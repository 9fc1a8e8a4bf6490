"""The distribute function's settings (see `image_updater.settings`)."""

from __future__ import annotations

from collections.abc import Mapping

from image_updater.settings import FromEnvironment, tags, variable


class DistributeSettings(FromEnvironment):
    """distribute: the configured tags each copy gets again (CopyImage copies none)."""

    new_image_tags: Mapping[str, str] = variable("NEW_IMAGE_TAGS", tags)
