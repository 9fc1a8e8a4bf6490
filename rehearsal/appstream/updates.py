"""Managed image updates: CreateUpdatedImage, and the temporary builds it starts, which end
as a test scripted them (`script_update`)."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rehearsal.appstream.quotas import Quotas
from rehearsal.appstream.state import (
    DEFAULT_SCRIPT,
    DEFAULT_UPDATE_POLLS,
    Build,
    ServiceError,
    StoredImage,
    UpdateOutcome,
    UpdateScript,
    require_available,
)

_RESERVED_NAME_PREFIXES = ("Amazon", "AWS", "AppStream")
_CONTEXT_KEY = "rehearsal.appstream.params"

# Platforms AWS documents managed image updates for (Windows Server, Red Hat Enterprise Linux,
# Rocky Linux). WINDOWS_11, AMAZON_LINUX2 and UBUNTU_PRO_2404 are refused: an assumption, as the
# documentation names neither way for them.
MANAGED_UPDATE_PLATFORMS = frozenset(
    {
        "WINDOWS",
        "WINDOWS_SERVER_2016",
        "WINDOWS_SERVER_2019",
        "WINDOWS_SERVER_2022",
        "WINDOWS_SERVER_2025",
        "RHEL8",
        "ROCKY_LINUX8",
    }
)


class Updates(Quotas):
    """Managed updates started through the API, scripted per source image."""

    def script_update(
        self,
        source_name: str,
        *,
        polls: int = DEFAULT_UPDATE_POLLS,
        duration: timedelta | None = None,
        outcome: UpdateOutcome = "AVAILABLE",
        reason_code: str = "IMAGE_UPDATE_FAILURE",
        reason_message: str = "The image update failed.",
        errors: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        """How the next update created from `source_name` behaves. It ends on the `polls`-th
        DescribeImages that names it or, with `duration`, once the clock has moved that far.
        A FAILED update carries `errors` as (ErrorCode, ErrorMessage) pairs; by default one
        INTERNAL_SERVICE_ERROR."""
        if polls < 1:
            raise ValueError("polls must be at least 1")
        if outcome not in ("AVAILABLE", "FAILED"):
            raise ValueError(f"outcome must be AVAILABLE or FAILED, not {outcome!r}")
        script = UpdateScript(
            polls=polls,
            duration=duration,
            outcome=outcome,
            reason_code=reason_code,
            reason_message=reason_message,
            errors=tuple(errors or [("INTERNAL_SERVICE_ERROR", reason_message)]),
        )
        with self._lock:
            self._scripts[source_name] = script

    @property
    def max_concurrent_updates_seen(self) -> int:
        with self._lock:
            return self._max_concurrent_updates_seen

    def updates_in_progress(self) -> list[str]:
        """Names of the images being built, oldest update first."""
        with self._lock:
            finish_due_builds(self._images, self._clock())
            return self._building()

    def _create_updated_image(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        new_name: str = params["newImageName"]
        if new_name.startswith(_RESERVED_NAME_PREFIXES):
            raise self._violation(
                "ValidationException",
                f"CreateUpdatedImage: newImageName {new_name!r} must not start with "
                + ", ".join(_RESERVED_NAME_PREFIXES),
            )
        source = self._stored(params["existingImageName"])
        self._require_updatable(source.image)
        if params.get("dryRun", False):
            # AWS documents only that a dry run "displays whether image updates are
            # available"; the simulation answers with that alone, so no caller can come to
            # rely on an `image` a real dry run may not return.
            return {"canUpdateImage": source.updates_available}
        if new_name in self._images:
            raise ServiceError("ResourceAlreadyExistsException", f"Image {new_name} exists.")
        self._require_room_for_an_update()
        image = self._start_update(source, params, now)
        return {"image": copy.deepcopy(image), "canUpdateImage": True}

    def _require_updatable(self, image: Mapping[str, Any]) -> None:
        name = image["Name"]
        if image["Visibility"] != "PRIVATE":
            raise ServiceError(
                "OperationNotPermittedException", f"Image {name} is not owned by this account."
            )
        if image["Platform"] not in MANAGED_UPDATE_PLATFORMS:
            raise ServiceError(
                "IncompatibleImageException",
                f"Managed image updates do not support {image['Platform']} images such as {name}.",
            )
        require_available(image, "OperationNotPermittedException")

    def _start_update(
        self, source: StoredImage, params: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        name: str = params["newImageName"]
        image: dict[str, Any] = {
            "Name": name,
            "Arn": self._image_arn(name, "PRIVATE"),
            "BaseImageArn": source.image.get("BaseImageArn", source.image["Arn"]),
            "State": "PENDING",
            "Visibility": "PRIVATE",
            "Platform": source.image["Platform"],
            "ImageBuilderSupported": True,
            "CreatedTime": now,
            "AppstreamAgentVersion": source.image["AppstreamAgentVersion"],
        }
        # AWS documents the date as the release date of the base image an image was created
        # from, and says nothing of a managed update moving it: the new image keeps the source's.
        if "PublicBaseImageReleasedDate" in source.image:
            image["PublicBaseImageReleasedDate"] = source.image["PublicBaseImageReleasedDate"]
        # The Image shape requires at least one character where the request allows none.
        if params.get("newImageDisplayName"):
            image["DisplayName"] = params["newImageDisplayName"]
        if params.get("newImageDescription"):
            image["Description"] = params["newImageDescription"]
        script = self._scripts.pop(source.image["Name"], DEFAULT_SCRIPT)
        self._images[name] = StoredImage(
            image,
            dict(params.get("newImageTags") or {}),
            # Fresh from an update: nothing further to install until a script says so.
            updates_available=False,
            build=Build(script, started=now),
        )
        self._max_concurrent_updates_seen = max(
            self._max_concurrent_updates_seen, len(self._building())
        )
        return image


def finish_due_builds(images: Mapping[str, StoredImage], now: datetime) -> None:
    """Each update whose time has come ends as its script says."""
    for stored in images.values():
        if stored.build is None or not stored.build.is_due(now):
            continue
        script, image = stored.build.script, stored.image
        if script.outcome == "AVAILABLE":
            image["State"] = "AVAILABLE"
            image["AppstreamAgentVersion"] = newer_agent_version(image["AppstreamAgentVersion"])
            image["LatestAppstreamAgentVersion"] = "TRUE"  # an update installs the latest agent
        else:
            image["State"] = "FAILED"
            image["StateChangeReason"] = {
                "Code": script.reason_code,
                "Message": script.reason_message,
            }
            image["ImageErrors"] = [
                {"ErrorCode": code, "ErrorMessage": message, "ErrorTimestamp": now}
                for code, message in script.errors
            ]
        stored.build = None


def newer_agent_version(version: str) -> str:
    """'1.1.1000' -> '1.1.1001': an update installs a newer agent."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    if match is None:
        return f"{version}.1"
    return f"{match[1]}{int(match[2]) + 1}"
