"""The distribution's decisions, pure: which image in a Region is the updater's copy, which
tags a copy gets, and what a share's failure is called."""

from __future__ import annotations

from collections.abc import Mapping

from image_updater.domain import naming
from image_updater.models import ImageSummary


def is_our_copy(root: str, image: ImageSummary) -> bool:
    """A copy keeps the source's name and description, so the updater's copy is an image with
    a name derived from `root` and a description ending with the updater's marker (a copy has
    no tags to go by: CopyImage does not copy them). Any other same-named image is someone
    else's: never touched."""
    return naming.is_derived_name(root, image.name) and bool(
        image.description and image.description.endswith(naming.DESCRIPTION_MARKER)
    )


def copy_tags(
    root: str, source_tags: Mapping[str, str], configured: Mapping[str, str]
) -> dict[str, str]:
    """The tags a copy gets: the configured new-image tags and the lineage's own, as the hub's
    image has them (the lineage root always: it is what retention and the roll-out go by)."""
    lineage = {key: source_tags[key] for key in naming.RESERVED_TAG_KEYS if key in source_tags}
    return {**configured, **lineage, naming.LINEAGE_ROOT_TAG: root}


def not_ours_reason(image: ImageSummary, region: str) -> str:
    return (
        f"{region} already has an image named {image.name} that the updater did not make "
        f"(its description does not end with {naming.DESCRIPTION_MARKER!r}); it was left alone"
    )
