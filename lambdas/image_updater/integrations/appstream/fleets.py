"""What runs AppStream images: fleets and image builders. Retention reads which images they
use (never deleted); the roll-out reads fleets with their tags and changes their image."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from image_updater.errors import AppStreamBusy, ImageUpdaterError
from image_updater.integrations.appstream.client import (
    PAGE_SIZE,
    Clients,
    translated_errors,
)
from image_updater.rollout.models import (
    PREVIOUS_IMAGE_TAG,
    RECORD_TAGS,
    ROLLED_OUT_TAG,
    FleetFacts,
)

if TYPE_CHECKING:
    from mypy_boto3_appstream import AppStreamClient


class FleetNotFound(ImageUpdaterError):
    """The fleet no longer exists."""


class FleetRefused(ImageUpdaterError):
    """AppStream refused to change the fleet (incompatible image, state, parameters)."""


# UpdateFleet's errors that say "not this fleet, not now": reported per fleet, never retried.
_REFUSALS = frozenset(
    {
        "IncompatibleImageException",
        "InvalidParameterCombinationException",
        "ResourceNotAvailableException",
        "OperationNotPermittedException",
        "InvalidRoleException",
        "InvalidAccountStatusException",
        "LimitExceededException",
    }
)


@contextmanager
def _fleet_errors() -> Iterator[None]:
    # The fleet's own answers first; throttling, network and the rest as for images.
    with translated_errors():
        try:
            yield
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = f"{code}: {error.response.get('Error', {}).get('Message', '')}"
            if code == "ResourceNotFoundException":
                raise FleetNotFound(message) from error
            if code in _REFUSALS:
                raise FleetRefused(message) from error
            if code == "ResourceInUseException":  # e.g. STARTING or STOPPING: try later
                raise AppStreamBusy(message) from error
            raise


class AppStreamFleets:
    def __init__(self, client: AppStreamClient | None = None) -> None:
        # Reads may be re-sent by the SDK; changes (UpdateFleet, tagging) never are.
        self._clients = Clients(client)

    # --- what images are in use (retention) ------------------------------------------------

    def fleet_images(self) -> dict[str, list[str]]:
        """Image name or ARN -> the fleets using it (every page of DescribeFleets)."""
        used: dict[str, list[str]] = {}
        for fleet in self._all_fleets():
            for key in ("ImageName", "ImageArn"):
                if fleet.get(key):
                    used.setdefault(str(fleet[key]), []).append(fleet["Name"])
        return used

    def rollback_targets(self) -> dict[str, list[str]]:
        """Image name or ARN -> the fleets whose recorded previous image it is (their
        rollback target: retention must not delete it)."""
        targets: dict[str, list[str]] = {}
        for fleet in self._all_fleets():
            previous = self.tags(fleet["Arn"]).get(PREVIOUS_IMAGE_TAG)
            if previous:
                targets.setdefault(previous, []).append(fleet["Name"])
        return targets

    def builder_images(self) -> dict[str, list[str]]:
        """Image ARN -> the image builders started from it (every page)."""
        used: dict[str, list[str]] = {}
        token: str | None = None
        while True:
            with translated_errors():
                if token:
                    page = self._clients.reads.describe_image_builders(
                        MaxResults=PAGE_SIZE, NextToken=token
                    )
                else:
                    page = self._clients.reads.describe_image_builders(MaxResults=PAGE_SIZE)
            for builder in page.get("ImageBuilders", []):
                if builder.get("ImageArn"):
                    used.setdefault(builder["ImageArn"], []).append(builder["Name"])
            token = page.get("NextToken")
            if not token:
                return used

    # --- the roll-out -------------------------------------------------------------------------

    def all_fleets(self) -> list[FleetFacts]:
        """Every fleet of the account and Region, with its tags."""
        return [
            FleetFacts.from_appstream(fleet, self.tags(fleet["Arn"]))
            for fleet in self._all_fleets()
        ]

    def fleets(self, names: Sequence[str]) -> list[FleetFacts]:
        """The named fleets that exist, with their tags."""
        found = []
        for name in names:
            try:
                with _fleet_errors():
                    described = self._clients.reads.describe_fleets(Names=[name])["Fleets"]
            except FleetNotFound:
                continue
            found += [FleetFacts.from_appstream(dict(f), self.tags(f["Arn"])) for f in described]
        return found

    def tags(self, arn: str) -> dict[str, str]:
        with _fleet_errors():
            return dict(self._clients.reads.list_tags_for_resource(ResourceArn=arn).get("Tags", {}))

    def set_image(self, name: str, image: str) -> None:
        """UpdateFleet with only the image: by ARN when given one (a shared or public image),
        else by name."""
        with _fleet_errors():
            if image.startswith("arn:"):
                self._clients.changes.update_fleet(Name=name, ImageArn=image)
            else:
                self._clients.changes.update_fleet(Name=name, ImageName=image)

    def record_previous_image(self, arn: str, image: str, rolled_out: str) -> None:
        """The rollback record: `image` the fleet runs now, `rolled_out` the one it gets."""
        with _fleet_errors():
            self._clients.changes.tag_resource(
                ResourceArn=arn, Tags={PREVIOUS_IMAGE_TAG: image, ROLLED_OUT_TAG: rolled_out}
            )

    def forget_previous_image(self, arn: str) -> None:
        with _fleet_errors():
            self._clients.changes.untag_resource(ResourceArn=arn, TagKeys=list(RECORD_TAGS))

    def _all_fleets(self) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            with translated_errors():
                page = (
                    self._clients.reads.describe_fleets(NextToken=token)
                    if token
                    else self._clients.reads.describe_fleets()
                )
            yield from (dict(fleet) for fleet in page.get("Fleets", []))
            token = page.get("NextToken")
            if not token:
                return
