"""What runs AppStream images: fleets and image builders (an image they use is never deleted;
the roll-out to fleets will update them from here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from image_updater.integrations.appstream.client import (
    PAGE_SIZE,
    default_client,
    translated_errors,
)

if TYPE_CHECKING:
    from mypy_boto3_appstream import AppStreamClient


class AppStreamFleets:
    def __init__(self, client: AppStreamClient | None = None) -> None:
        self._client = client or default_client()

    def fleet_images(self) -> dict[str, list[str]]:
        """Image name or ARN -> the fleets using it (every page of DescribeFleets)."""
        used: dict[str, list[str]] = {}
        token: str | None = None
        while True:
            with translated_errors():
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
            with translated_errors():
                if token:
                    page = self._client.describe_image_builders(
                        MaxResults=PAGE_SIZE, NextToken=token
                    )
                else:
                    page = self._client.describe_image_builders(MaxResults=PAGE_SIZE)
            for builder in page.get("ImageBuilders", []):
                if builder.get("ImageArn"):
                    used.setdefault(builder["ImageArn"], []).append(builder["Name"])
            token = page.get("NextToken")
            if not token:
                return used
