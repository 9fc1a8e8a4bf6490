"""Image copies: CopyImage, within the account, to the same or another Region.

What AWS documents (https://docs.aws.amazon.com/appstream2/latest/developerguide/
administer-images.html#copy-image-same-or-different-region and the quotas page): a copy stays
in the same account, the copy does not carry the source's tags, it is COPYING until AVAILABLE,
and each destination Region takes at most 2 copies at once (adjustable). The copy's name is
new in the destination; the description is the one the request gives (the simulation keeps
none when it gives none: an assumption, as AWS does not say).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from rehearsal.appstream.state import (
    COPIES_PER_DESTINATION,
    DEFAULT_COPY_POLLS,
    AccountState,
    CopyInFlight,
    CopyOutcome,
    CopyScript,
    ServiceError,
    StoredImage,
)


def finish_due_copies(images: Mapping[str, StoredImage], now: datetime) -> None:
    """Copies whose time has come end AVAILABLE (or FAILED, as scripted)."""
    for stored in images.values():
        flight = stored.copy
        if flight is None or not flight.is_due(now):
            continue
        stored.copy = None
        stored.image["State"] = flight.outcome
        if flight.outcome == "FAILED":
            stored.image["StateChangeReason"] = {
                "Code": "IMAGE_COPY_FAILURE",
                "Message": "The image copy failed.",
            }


class Copies(AccountState):
    """CopyImage from this Region's images into a Region of the same account."""

    def script_copies(
        self,
        *,
        polls: int = DEFAULT_COPY_POLLS,
        duration: timedelta | None = None,
        outcome: CopyOutcome = "AVAILABLE",
    ) -> None:
        """How copies INTO this Region behave from now on (by default: AVAILABLE on the 2nd
        DescribeImages naming them)."""
        with self._lock:
            self._copy_script = CopyScript(polls, duration, outcome)

    def set_copy_quota(self, copies: int = COPIES_PER_DESTINATION) -> None:
        """Service Quotas: concurrent image copies into this Region."""
        with self._lock:
            self._copy_quota = copies

    def _in_region(self, region: str) -> Copies:
        raise NotImplementedError  # the whole simulation knows its Regions (regions.py)

    def _copy_image(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        source = self._stored(params["SourceImageName"])
        if source.image["Visibility"] != "PRIVATE":
            raise ServiceError(
                "IncompatibleImageException", "Only images the account owns can be copied."
            )
        if source.image["State"] != "AVAILABLE" or source.build is not None:
            raise ServiceError(
                "ResourceNotAvailableException",
                f"Image {source.image['Name']} is {source.image['State']}.",
            )
        destination = self._in_region(params["DestinationRegion"])
        name = params["DestinationImageName"]
        return destination._receive_copy(
            source, name, params.get("DestinationImageDescription"), now
        )

    def _receive_copy(
        self, source: StoredImage, name: str, description: str | None, now: datetime
    ) -> dict[str, Any]:
        """This Region takes a copy of `source` named `name` (under the shared lock)."""
        finish_due_copies(self._images, now)
        if name in self._images:
            raise ServiceError(
                "ResourceAlreadyExistsException",
                f"An image named {name} already exists in {self.region}.",
            )
        in_flight = sum(1 for stored in self._images.values() if stored.copy is not None)
        if in_flight >= self._copy_quota:
            raise ServiceError(
                "LimitExceededException",
                f"The number of concurrent image copies to {self.region} exceeds the quota "
                f"({self._copy_quota}).",
            )
        if self._private_image_count() >= self._image_quota:
            raise ServiceError(
                "LimitExceededException", "The number of images exceeds the quota for this account."
            )
        image = copy.deepcopy(source.image)
        for dropped in ("Description", "ImageSharedWithOthers", "StateChangeReason", "ImageErrors"):
            image.pop(dropped, None)
        image.update(
            Name=name,
            Arn=self._image_arn(name, "PRIVATE"),
            State="COPYING",
            CreatedTime=now,
        )
        if description is not None:
            image["Description"] = description
        script = self._copy_script
        flight = CopyInFlight(now, script.polls, script.duration, script.outcome)
        # Tags are not copied (AWS documents it): the copy starts with none.
        self._images[name] = StoredImage(image, {}, source.updates_available, copy=flight)
        return {"DestinationImageName": name}
