"""AppStream images in any Region of the account: what the distribution needs (find, tags,
CopyImage, TagResource, UpdateImagePermissions), each with the client of its kind.

CopyImage is not idempotent: it goes through the "change" client, never re-sent by the SDK
(a re-send after a lost answer would find the name taken, or worse, copy twice); the workflow
retries the whole step, which first looks for the copy by name. Tagging and sharing set what
they set, so repeating them is harmless; they use the change client too, so that a refusal
reaches the workflow's own retry (with its backoff) rather than the SDK's quick re-sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

import boto3

from image_updater.distribution.models import ShareTarget
from image_updater.distribution.service import CopyRefused, ShareRefused
from image_updater.errors import ImageUpdaterError
from image_updater.integrations.appstream.client import (
    IMAGE_ERRORS,
    CallKind,
    Clients,
    ErrorsByCode,
    ImageNotFound,
    client_config,
    translated_errors,
)
from image_updater.models import ImageSummary

if TYPE_CHECKING:
    from mypy_boto3_appstream import AppStreamClient


class CopyQuotaExceeded(ImageUpdaterError):
    """CopyImage: the destination takes no more copies now (2 at once per destination Region
    by default) or holds its quota of images; the workflow retries with a long backoff."""


class CopyNameTaken(ImageUpdaterError):
    """CopyImage: the name appeared in the destination since the step looked (another run's
    copy not yet listed, or someone else's image); retried shortly: the next look decides."""


_COPY_ERRORS: ErrorsByCode = {
    **IMAGE_ERRORS,
    "LimitExceededException": CopyQuotaExceeded,
    "ResourceAlreadyExistsException": CopyNameTaken,
    "ResourceNotFoundException": CopyRefused,
    "ResourceNotAvailableException": CopyRefused,
    "IncompatibleImageException": CopyRefused,
    "InvalidAccountStatusException": CopyRefused,
}
_SHARE_ERRORS: ErrorsByCode = {
    **IMAGE_ERRORS,
    "LimitExceededException": ShareRefused,
    "ResourceNotFoundException": ShareRefused,
    "ResourceNotAvailableException": ShareRefused,
    "ValidationException": ShareRefused,  # e.g. an account ID AppStream does not accept
}


@cache
def regional_client(kind: CallKind, region: str) -> AppStreamClient:
    """The client of one kind for `region`, created on first use."""
    return boto3.client("appstream", region_name=region, config=client_config(kind))


class RegionalImages:
    """One Region's images: `region` None is the function's own (the hub's) Region."""

    def __init__(self, region: str | None = None, client: AppStreamClient | None = None) -> None:
        self._region = region
        self._given = client  # a test double answers for every Region
        self._clients = Clients(client)

    @property
    def region(self) -> str:
        return self._region or self._reads.meta.region_name

    @property
    def _reads(self) -> AppStreamClient:
        if self._region is None:
            return self._clients.reads
        return self._given or regional_client("read", self._region)

    @property
    def _changes(self) -> AppStreamClient:
        if self._region is None:
            return self._clients.changes
        return self._given or regional_client("change", self._region)

    def find(self, name: str) -> ImageSummary | None:
        try:
            with translated_errors():
                images = self._reads.describe_images(Names=[name])["Images"]
        except ImageNotFound:
            return None
        return ImageSummary.from_appstream(dict(images[0])) if images else None

    def tags(self, arn: str) -> dict[str, str]:
        with translated_errors():
            return dict(self._reads.list_tags_for_resource(ResourceArn=arn).get("Tags", {}))

    def copy(self, name: str, destination: str, description: str) -> None:
        with translated_errors(_COPY_ERRORS):
            self._changes.copy_image(
                SourceImageName=name,
                DestinationImageName=name,
                DestinationRegion=destination,
                DestinationImageDescription=description,
            )

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        with translated_errors():
            self._changes.tag_resource(ResourceArn=arn, Tags=dict(tags))

    def share(self, name: str, target: ShareTarget) -> None:
        with translated_errors(_SHARE_ERRORS):
            self._changes.update_image_permissions(
                Name=name,
                SharedAccountId=target.account_id,
                ImagePermissions={
                    "allowFleet": target.allow_fleet,
                    "allowImageBuilder": target.allow_image_builder,
                },
            )
