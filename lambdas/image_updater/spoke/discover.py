"""The spoke's first step: the new images to roll out in this run, each claimed once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from image_updater.models import SUCCEEDED, ImageSummary


class NewestPort(Protocol):
    def newest(self, roots: tuple[str, ...]) -> dict[str, ImageSummary]: ...


class ClaimsPort(Protocol):
    def claim(self, image_arn: str, root: str, execution_id: str, at: str) -> bool: ...


def new_images(
    roots: Sequence[str],
    images: NewestPort,
    claims: ClaimsPort,
    *,
    execution_id: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """One result per lineage whose newest hub image this execution claims, shaped like the
    hub's image results (what the roll-out's sub-flow takes): an image claimed before, by
    this run or any other, is not rolled out again."""
    results = []
    for root, image in images.newest(tuple(roots)).items():
        if claims.claim(image.arn, root, execution_id, now.isoformat()):
            results.append(
                {
                    "image": root,
                    "outcome": SUCCEEDED,
                    "newImageName": image.name,
                    "newImageArn": image.arn,
                    "failed": False,
                }
            )
    return results
