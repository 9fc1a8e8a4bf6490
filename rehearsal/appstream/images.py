"""Images: what DescribeImages lists and DeleteImage removes, and how tests add them."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from rehearsal.appstream.constraints import APPSTREAM_MODEL, require_valid
from rehearsal.appstream.copies import finish_due_copies
from rehearsal.appstream.state import (
    PAGE_SIZE,
    AccountState,
    ServiceError,
    SimulationError,
    StoredImage,
)
from rehearsal.appstream.updates import finish_due_builds

_SHARING_ACCOUNT = "210987654321"  # shares the SHARED images a test adds without an owner


class Images(AccountState):
    """The account's images, added as they would exist already, and the calls that read them."""

    def add_image(
        self,
        name: str,
        *,
        state: str = "AVAILABLE",
        updates_available: bool = True,
        platform: str = "WINDOWS_SERVER_2022",
        visibility: str = "PRIVATE",
        created_time: datetime | None = None,
        tags: Mapping[str, str] | None = None,
        agent_version: str = "1.1.1000",
        display_name: str | None = None,
        description: str | None = None,
        shared_with_others: bool = False,
        owner_account: str | None = None,
        base_image_released: datetime | None = None,
        latest_agent: bool | None = None,
    ) -> dict[str, Any]:
        """Add an image as it would exist already; returns it as DescribeImages would.
        An image added in a non-terminal state stays in it: start a managed update through
        the API to get one that progresses. A SHARED image (shared into this account) has
        its `owner_account` (by default another one) in its ARN, and UpdateFleet finds it by
        that ARN only. `base_image_released` is its PublicBaseImageReleasedDate and
        `latest_agent` its LatestAppstreamAgentVersion (both left out when not given)."""
        if owner_account is not None and visibility != "SHARED":
            raise SimulationError(f"a {visibility} image has no other owner_account")
        if visibility == "SHARED":
            owner_account = owner_account or _SHARING_ACCOUNT
        image: dict[str, Any] = {
            "Name": name,
            "Arn": self._image_arn(name, visibility, owner_account),
            "State": state,
            "Visibility": visibility,
            "Platform": platform,
            "ImageBuilderSupported": True,
            "CreatedTime": created_time or self._clock(),
            "AppstreamAgentVersion": agent_version,
        }
        if base_image_released is not None:
            image["PublicBaseImageReleasedDate"] = base_image_released
        if latest_agent is not None:
            image["LatestAppstreamAgentVersion"] = "TRUE" if latest_agent else "FALSE"
        if display_name:
            image["DisplayName"] = display_name
        if description:
            image["Description"] = description
        if shared_with_others:
            # The owner still sees its image as PRIVATE; sharing shows in this flag only.
            image["ImageSharedWithOthers"] = "TRUE"
        require_valid(image, APPSTREAM_MODEL.shape_for("Image"), "image")
        if tags:
            require_valid(dict(tags), APPSTREAM_MODEL.shape_for("Tags"), "tags")
        with self._lock:
            if name in self._images:
                raise ValueError(f"image {name!r} exists already")
            self._images[name] = StoredImage(image, dict(tags or {}), updates_available)
            return copy.deepcopy(image)

    def lag_listing(self, lag: timedelta) -> None:
        """DescribeImages shows an image only `lag` after its creation (by name too: until
        then, ResourceNotFoundException), as an eventually consistent listing could. AWS does
        not document that it lists a new image at once; CreateUpdatedImage still refuses the
        name meanwhile."""
        with self._lock:
            self._listing_lag = lag

    def _not_yet_listed(self, stored: StoredImage, now: datetime) -> bool:
        return bool(self._listing_lag) and now < stored.image["CreatedTime"] + self._listing_lag

    def set_updates_available(self, name: str, available: bool) -> None:
        with self._lock:
            self._stored(name).updates_available = available

    def remove_tags(self, name: str, *keys: str) -> None:
        """What an admin does with UntagResource in the console: the image stays as it was."""
        with self._lock:
            tags = self._stored(name).tags
            for key in keys:
                tags.pop(key, None)

    @property
    def images(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            finish_due_builds(self._images, self._clock())
            finish_due_copies(self._images, self._clock())
            return {name: copy.deepcopy(stored.image) for name, stored in self._images.items()}

    @property
    def image_count(self) -> int:
        """How many images of its own the account holds (what the images quota counts)."""
        with self._lock:
            return self._private_image_count()

    def tags(self, name: str) -> dict[str, str]:
        with self._lock:
            return dict(self._stored(name).tags)

    def _describe_images(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        names, arns = params.get("Names"), params.get("Arns")
        if names and arns:
            raise ServiceError(
                "InvalidParameterCombinationException", "Names and Arns cannot be used together."
            )
        if names:
            selected = [self._stored(name) for name in dict.fromkeys(names)]
        elif arns:
            selected = [self._stored_by_arn(arn) for arn in dict.fromkeys(arns)]
        else:
            selected = list(self._images.values())
        lagging = [s for s in selected if self._not_yet_listed(s, now)]
        if lagging and (names or arns):
            raise ServiceError("ResourceNotFoundException", "Image not found.")
        selected = [s for s in selected if not self._not_yet_listed(s, now)]
        if names or arns:
            # Asking about an image being built is what moves a poll-scripted build along.
            for stored in selected:
                if stored.build is not None:
                    stored.build.polls += 1
                if stored.copy is not None:
                    stored.copy.polls += 1
            finish_due_builds(self._images, now)
            finish_due_copies(self._images, now)
        visibility = params.get("Type")
        matching = [s.image for s in selected if visibility in (None, s.image["Visibility"])]
        page_size = params.get("MaxResults") or PAGE_SIZE  # 0 would never make progress
        return self._page("Images", matching, params.get("NextToken"), page_size)

    def _delete_image(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        stored = self._stored(params["Name"])
        name, arn = stored.image["Name"], stored.image["Arn"]
        users = [
            user.fleet["Name"]
            for user in self._fleets.values()
            if user.fleet.get("ImageName") == name or user.fleet.get("ImageArn") == arn
        ]
        if users or self._shares.get(name):
            raise ServiceError(
                "ResourceInUseException",
                f"Image {name} is in use by fleets {users} or shared; it cannot be deleted.",
            )
        if stored.build or stored.copy or stored.image["State"] not in ("AVAILABLE", "FAILED"):
            raise ServiceError(
                "ConcurrentModificationException", f"Image {name} is {stored.image['State']}."
            )
        image = copy.deepcopy(stored.image)
        image["State"] = "DELETING"
        del self._images[name]
        self.deleted.append(name)
        return {"Image": image}
