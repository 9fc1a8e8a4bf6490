"""AppStream images: the lineage's members, their tags and sharing, managed updates and
deletion. Translates AppStream's `Image` shape into `ImageSummary`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from image_updater.domain import naming
from image_updater.errors import AppStreamBusy, UpdateNotPermitted
from image_updater.integrations.appstream.client import (
    PAGE_SIZE,
    Clients,
    DeletionRefused,
    ImageNotFound,
    pages,
    translated_errors,
)
from image_updater.models import SETTLED_STATES, ImageSummary

if TYPE_CHECKING:
    from mypy_boto3_appstream import AppStreamClient


class AppStreamImages:
    def __init__(self, client: AppStreamClient | None = None) -> None:
        # Reads may be re-sent by the SDK; changes (start_update, delete) never are.
        self._clients = Clients(client)
        # The account's own images at the last complete listing (what the images quota counts).
        self.private_images_listed: int | None = None

    def describe(self, name: str) -> ImageSummary:
        with translated_errors():
            images = self._clients.reads.describe_images(Names=[name])["Images"]
        if not images:
            raise ImageNotFound(f"DescribeImages returned no image named {name!r}")
        return ImageSummary.from_appstream(dict(images[0]))

    def tags(self, arn: str) -> dict[str, str]:
        with translated_errors():
            return dict(self._clients.reads.list_tags_for_resource(ResourceArn=arn).get("Tags", {}))

    def lineage_members(self, root: str) -> list[ImageSummary]:
        """Images the updater created from `root` (see `naming.is_lineage_member`)."""
        return [
            ImageSummary.from_appstream(image)
            for image in self._private_images()
            if self._is_member(root, image)
        ]

    def updates_in_progress(self, roots: Sequence[str]) -> list[str]:
        """Names of the images the updater created for any of `roots` that are still being
        built, whichever run started them."""
        building = []
        for image in self._private_images():
            if image.get("State") in SETTLED_STATES:
                continue
            root = next((r for r in roots if naming.is_derived_name(r, image["Name"])), None)
            if root and self._is_member(root, image):
                building.append(image["Name"])
        return building

    def _is_member(self, root: str, image: Mapping[str, Any]) -> bool:
        if not naming.is_derived_name(root, image["Name"]):
            return False  # no tag lookup for images that cannot be members
        return naming.is_lineage_member(
            root, image["Name"], image.get("Description"), self.tags(image["Arn"])
        )

    def count_private_images(self) -> int:
        """The images the account owns in this Region (what the images quota counts)."""
        return sum(1 for _ in self._private_images())

    def _private_images(self) -> Iterator[dict[str, Any]]:
        reads = self._clients.reads
        listed = 0
        for page in pages(reads.describe_images, Type="PRIVATE", MaxResults=PAGE_SIZE):
            listed += len(page.get("Images", []))
            yield from (dict(image) for image in page.get("Images", []))
        self.private_images_listed = listed

    def shared_with(self, name: str) -> list[str]:
        """The accounts `name` is shared with (DescribeImagePermissions, every page)."""
        return [
            permission["sharedAccountId"]
            for page in pages(self._clients.reads.describe_image_permissions, Name=name)
            for permission in page.get("SharedImagePermissionsList", [])
        ]

    def delete(self, name: str) -> None:
        """DeleteImage. Irreversible: callers decide with `retention.policy` first."""
        try:
            with translated_errors():
                self._clients.changes.delete_image(Name=name)
        except (ImageNotFound, UpdateNotPermitted, AppStreamBusy, ClientError) as error:
            raise DeletionRefused(str(error)) from error

    def can_update(self, source: str, new_name: str) -> bool:
        with translated_errors():
            response = self._clients.reads.create_updated_image(
                existingImageName=source, newImageName=new_name, dryRun=True
            )
        return bool(response.get("canUpdateImage"))

    def start_update(
        self,
        source: str,
        new_name: str,
        *,
        description: str,
        display_name: str,
        tags: Mapping[str, str],
    ) -> ImageSummary:
        with translated_errors():
            response = self._clients.changes.create_updated_image(
                existingImageName=source,
                newImageName=new_name,
                newImageDescription=description,
                newImageDisplayName=display_name,
                newImageTags=dict(tags),
                dryRun=False,
            )
        image = dict(response.get("image") or {})
        if not image.get("Arn") or not image.get("Name"):
            # The model requires only the image's name; never fail after AppStream accepted.
            return self.describe(new_name)
        return ImageSummary.from_appstream(image)
