"""Deployment settings, passed by the CDK stack as environment variables and read on use."""

from __future__ import annotations

import json
import os


def configured_images() -> list[str]:
    return list(json.loads(os.environ["CONFIGURED_IMAGES"]))


def new_image_tags() -> dict[str, str]:
    return dict(json.loads(os.environ.get("NEW_IMAGE_TAGS", "{}")))


def max_polls() -> int:
    return int(os.environ["MAX_POLLS"])


def max_update_hours() -> int:
    return int(os.environ["MAX_UPDATE_HOURS"])


def max_concurrent_updates() -> int:
    return int(os.environ["MAX_CONCURRENT_UPDATES"])


def keep_images() -> int:
    return int(os.environ["KEEP_IMAGES"])
