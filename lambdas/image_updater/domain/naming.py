"""AppStream's naming and tagging rules, and the names this tool derives from them.

Pure functions only: the CDK app validates the configuration with the same rules the
Lambdas apply at run time, so a name that passes `cdk synth` is one AppStream accepts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime

IMAGE_NAME_MAX = 101
IMAGE_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$")
RESERVED_NAME_PREFIXES = ("Amazon", "AWS", "AppStream")
DESCRIPTION_MAX = 256
DISPLAY_NAME_MAX = 100

TAGS_MAX = 50
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
_TAG_PUNCTUATION = frozenset("_.:/=+-@")

# Every image the pipeline creates carries these, so it can find its own images again
# (the Image shape has no tags; they come from ListTagsForResource).
LINEAGE_ROOT_TAG = "AppStreamImageUpdater:LineageRoot"
SOURCE_IMAGE_TAG = "AppStreamImageUpdater:SourceImage"
RESERVED_TAG_KEYS = (LINEAGE_ROOT_TAG, SOURCE_IMAGE_TAG)
# The whole prefix is the updater's: keys it may add later must never clash with an admin's.
RESERVED_TAG_PREFIX = "AppStreamImageUpdater:"

_TIMESTAMP_FORMAT = "%Y%m%d-%H%M%S"
_SUFFIX_LENGTH = len("-20260101-000000")
ROOT_PREFIX_MAX = IMAGE_NAME_MAX - _SUFFIX_LENGTH


def image_name_problem(name: str) -> str | None:
    """Why AppStream would refuse `name` for a new image, or None when it is acceptable."""
    if not IMAGE_NAME_PATTERN.fullmatch(name):
        return (
            "must be 1 to 101 characters of letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    for prefix in RESERVED_NAME_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with {prefix!r} (reserved by AWS)"
    return None


def lineage_prefix(root: str) -> str:
    """The fixed start of every image name derived from `root`."""
    return root[:ROOT_PREFIX_MAX] + "-"


_DERIVED_SUFFIX = re.compile(r"\d{8}-\d{6}")


def is_derived_name(root: str, name: str) -> bool:
    prefix = lineage_prefix(root)
    return name.startswith(prefix) and bool(_DERIVED_SUFFIX.fullmatch(name[len(prefix) :]))


def derived_image_name(root: str, started_at: datetime) -> str:
    """Name of the image a run started at `started_at` creates for the lineage of `root`.

    Derived from the root, never from the previous image, so names do not grow run
    after run; deterministic, so a retried create asks for the same name again.
    """
    return lineage_prefix(root) + started_at.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


# Every description the updater writes ends with this. AppStream cannot change an image's
# name or description after creation, so together they mark the updater's images even when
# someone removes their tags.
DESCRIPTION_MARKER = "by the AppStream image updater"


def new_image_description(source: str, started_at: datetime) -> str:
    day = started_at.astimezone(UTC).strftime("%Y-%m-%d")
    ending = f", built {day} {DESCRIPTION_MARKER}"
    text = f"{source} with the latest operating system, driver and AppStream agent updates"
    return text[: DESCRIPTION_MAX - len(ending)] + ending


def is_lineage_member(
    root: str, name: str, description: str | None, tags: Mapping[str, str]
) -> bool:
    """Whether an image is one the updater created for the lineage of `root`.

    The name (root prefix plus timestamp) narrows the candidates. The lineage tag confirms
    them; an image whose lineage tag was removed still counts when its immutable
    description shows the updater wrote it, so a lost tag never makes the next run rebuild
    from an older image. A tag naming another root is never overridden.
    """
    if not is_derived_name(root, name):
        return False
    tagged_root = tags.get(LINEAGE_ROOT_TAG)
    if tagged_root is not None:
        return tagged_root == root
    return bool(description) and str(description).endswith(DESCRIPTION_MARKER)


def new_image_display_name(root: str, started_at: datetime) -> str:
    day = started_at.astimezone(UTC).strftime("%Y-%m-%d")
    suffix = f" (updated {day})"
    return root[: DISPLAY_NAME_MAX - len(suffix)] + suffix


def _tag_text_ok(text: str) -> bool:
    # AppStream's pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*
    return all(c in _TAG_PUNCTUATION or unicodedata.category(c)[0] in "LZN" for c in text)


def _tag_key_ok(key: str) -> bool:
    # AppStream's TagKey pattern: ^(^(?!aws:).[\p{L}\p{Z}\p{N}_.:/=+\-@]*)$ -- the first
    # character may be anything (so `$k` is a valid key), the rest come from the class.
    return _tag_text_ok(key[1:])


def tag_problem(key: str, value: str) -> str | None:
    """Why AppStream would refuse this tag, or None when it is acceptable."""
    if not 1 <= len(key) <= TAG_KEY_MAX:
        return f"tag key {key!r} must be 1 to {TAG_KEY_MAX} characters"
    if key.lower().startswith("aws:"):
        return f"tag key {key!r} must not start with 'aws:'"
    if not _tag_key_ok(key):
        return (
            f"tag key {key!r} may contain, after its first character, only letters, digits, "
            "spaces and _ . : / = + - @"
        )
    if len(value) > TAG_VALUE_MAX:
        return f"tag value of {key!r} must be at most {TAG_VALUE_MAX} characters"
    if not _tag_text_ok(value):
        return f"tag value of {key!r} may contain only letters, digits, spaces and _ . : / = + - @"
    if key.lower().startswith(RESERVED_TAG_PREFIX.lower()):
        return (
            f"tag key {key!r} is reserved: keys starting with {RESERVED_TAG_PREFIX!r} belong "
            "to the updater (it tracks image lineages with them)"
        )
    return None


def new_image_tags(extra: Mapping[str, str], root: str, source: str) -> dict[str, str]:
    """Configured tags plus the lineage tags that mark the image as the updater's own."""
    return {**extra, LINEAGE_ROOT_TAG: root, SOURCE_IMAGE_TAG: source}
