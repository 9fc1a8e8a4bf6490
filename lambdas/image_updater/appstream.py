"""The only module that talks to AppStream. Translates its errors into the named errors
the state machine retries or reports, and its `Image` shape into `ImageSummary`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from image_updater.domain import naming
from image_updater.errors import (
    AppStreamBusy,
    AppStreamThrottled,
    AppStreamUnreachable,
    ImageUpdaterError,
    UpdateNotPermitted,
    UpdateQuotaExceeded,
)
from image_updater.models import SETTLED_STATES, ImageSummary

if TYPE_CHECKING:
    from mypy_boto3_appstream import AppStreamClient

_PAGE_SIZE = 25  # DescribeImages' maximum
# RequestLimitExceededException is the one AppStream's model defines; the others are what
# AWS's front ends answer for any service.
_THROTTLING_CODES = frozenset(
    {
        "RequestLimitExceededException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)
# What is left of a network failure once the SDK's own retries are spent.
_NETWORK_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)
_REFUSAL_CODES = frozenset(
    {
        "IncompatibleImageException",
        "OperationNotPermittedException",
        "InvalidAccountStatusException",
    }
)


@cache
def default_client() -> AppStreamClient:
    """Created on first use, not at import: keeps cold start lean and lets tests install
    their simulation before any client exists."""
    return boto3.client("appstream", config=Config(retries={"mode": "standard"}))


class ImageNotFound(ImageUpdaterError):
    """DescribeImages or CreateUpdatedImage did not find the named image."""


class NameAlreadyExists(ImageUpdaterError):
    """CreateUpdatedImage: an image with the new name exists already."""


class DeletionRefused(ImageUpdaterError):
    """DeleteImage: AppStream refused (in use, shared, being modified, not permitted)."""


@contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = f"{code}: {error.response.get('Error', {}).get('Message', '')}"
        if code == "ResourceNotFoundException":
            raise ImageNotFound(message) from error
        if code == "ResourceAlreadyExistsException":
            raise NameAlreadyExists(message) from error
        if code == "LimitExceededException":
            raise UpdateQuotaExceeded(message) from error
        if code == "ConcurrentModificationException":
            raise AppStreamBusy(message) from error
        if code in _THROTTLING_CODES:
            raise AppStreamThrottled(message) from error
        if code in _REFUSAL_CODES:
            raise UpdateNotPermitted(message) from error
        raise
    except _NETWORK_ERRORS as error:
        raise AppStreamUnreachable(f"{type(error).__name__}: {error}") from error


class AppStreamImages:
    def __init__(self, client: AppStreamClient | None = None) -> None:
        self._client = client or default_client()

    def describe(self, name: str) -> ImageSummary:
        with _translated_errors():
            images = self._client.describe_images(Names=[name])["Images"]
        if not images:
            raise ImageNotFound(f"DescribeImages returned no image named {name!r}")
        return ImageSummary.from_appstream(dict(images[0]))

    def tags(self, arn: str) -> dict[str, str]:
        with _translated_errors():
            return dict(self._client.list_tags_for_resource(ResourceArn=arn).get("Tags", {}))

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
        token: str | None = None
        while True:
            with _translated_errors():
                if token:
                    page = self._client.describe_images(
                        Type="PRIVATE", MaxResults=_PAGE_SIZE, NextToken=token
                    )
                else:
                    page = self._client.describe_images(Type="PRIVATE", MaxResults=_PAGE_SIZE)
            for image in page.get("Images", []):
                yield dict(image)
            token = page.get("NextToken")
            if not token:
                return

    # --- what retention must know before deleting anything ------------------------------------

    def fleet_images(self) -> dict[str, list[str]]:
        """Image name or ARN -> the fleets using it (every page of DescribeFleets)."""
        used: dict[str, list[str]] = {}
        token: str | None = None
        while True:
            with _translated_errors():
                page = (
                    self._client.describe_fleets(NextToken=token)
                    if token
                    else self._client.describe_fleets()
                )
            for fleet in page.get("Fleets", []):
                for key in ("ImageName", "ImageArn"):
                    if fleet.get(key):
                        used.setdefault(str(fleet[key]), []).append(fleet["Name"])
            token = page.get("NextToken")
            if not token:
                return used

    def builder_images(self) -> dict[str, list[str]]:
        """Image ARN -> the image builders started from it (every page)."""
        used: dict[str, list[str]] = {}
        token: str | None = None
        while True:
            with _translated_errors():
                if token:
                    page = self._client.describe_image_builders(
                        MaxResults=_PAGE_SIZE, NextToken=token
                    )
                else:
                    page = self._client.describe_image_builders(MaxResults=_PAGE_SIZE)
            for builder in page.get("ImageBuilders", []):
                if builder.get("ImageArn"):
                    used.setdefault(builder["ImageArn"], []).append(builder["Name"])
            token = page.get("NextToken")
            if not token:
                return used

    def shared_with(self, name: str) -> list[str]:
        """The accounts `name` is shared with (DescribeImagePermissions, every page)."""
        accounts: list[str] = []
        token: str | None = None
        while True:
            with _translated_errors():
                if token:
                    page = self._client.describe_image_permissions(Name=name, NextToken=token)
                else:
                    page = self._client.describe_image_permissions(Name=name)
            accounts += [p["sharedAccountId"] for p in page.get("SharedImagePermissionsList", [])]
            token = page.get("NextToken")
            if not token:
                return accounts

    def delete(self, name: str) -> None:
        """DeleteImage. Irreversible: callers decide with `retention.policy` first."""
        try:
            with _translated_errors():
                self._client.delete_image(Name=name)
        except (ImageNotFound, UpdateNotPermitted, AppStreamBusy, ClientError) as error:
            raise DeletionRefused(str(error)) from error

    def can_update(self, source: str, new_name: str) -> bool:
        with _translated_errors():
            response = self._client.create_updated_image(
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
        with _translated_errors():
            response = self._client.create_updated_image(
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
