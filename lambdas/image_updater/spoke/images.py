"""The hub's images as this account sees them: shared with it (another account's), or its own
copies (the hub is this account, in another Region). The roll-out's `ImagesPort` for a spoke:
it describes and lists only the hub's images of each lineage (`discovery`), never an image
anyone else shared with this account, whatever its name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from image_updater.integrations.appstream.client import (
    PAGE_SIZE,
    Clients,
    ImageNotFound,
    pages,
)
from image_updater.models import ImageSummary
from image_updater.spoke import discovery
from image_updater.spoke.settings import SpokeSettings

if TYPE_CHECKING:
    from mypy_boto3_appstream import AppStreamClient

# SHARED: images other accounts share with this one. PRIVATE: this account's own, where the
# hub's copies are when the hub is this account (CopyImage copies within one account). The
# ARN's account decides which of them are the hub's.
_TYPES = ("SHARED", "PRIVATE")


class HubImages:
    def __init__(
        self, hub_account: str | None = None, client: AppStreamClient | None = None
    ) -> None:
        self._hub = hub_account or SpokeSettings.from_env().hub_account_id
        self._clients = Clients(client)

    def hub_images(self) -> Iterator[dict[str, Any]]:
        """Every image this account sees whose ARN names the hub's account."""
        reads = self._clients.reads
        for kind in _TYPES:
            for page in pages(reads.describe_images, Type=kind, MaxResults=PAGE_SIZE):
                for image in page.get("Images", []):
                    if discovery.arn_account(str(image.get("Arn") or "")) == self._hub:
                        yield dict(image)

    def describe(self, name: str) -> ImageSummary:
        """The hub's image named `name` (an image of the same name anyone else shares, or this
        account's own, is not it)."""
        for image in self.hub_images():
            if image.get("Name") == name:
                return ImageSummary.from_appstream(image)
        raise ImageNotFound(
            f"no image named {name!r} of account {self._hub} is shared with this one"
        )

    def arn_of(self, name: str) -> str | None:
        """The ARN of the hub's image `name` (what UpdateFleet needs for a shared image)."""
        try:
            return self.describe(name).arn
        except ImageNotFound:
            return None

    def lineage_members(self, root: str) -> list[ImageSummary]:
        return discovery.lineage_members(root, self.hub_images(), self._hub)

    def newest(self, roots: tuple[str, ...]) -> dict[str, ImageSummary]:
        return discovery.newest_candidates(roots, self.hub_images(), self._hub)
