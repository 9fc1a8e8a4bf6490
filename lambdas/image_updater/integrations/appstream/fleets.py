"""What runs AppStream images: fleets and image builders. Retention reads which images they
use (never deleted); the roll-out reads fleets with their tags and changes their image."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from image_updater import clock
from image_updater.errors import AppStreamBusy, ImageUpdaterError
from image_updater.integrations.appstream.client import (
    IMAGE_ERRORS,
    PAGE_SIZE,
    Clients,
    ErrorsByCode,
    ImageNotFound,
    pages,
    translated_errors,
)
from image_updater.rollout.models import PREVIOUS_IMAGE_TAG, RECORD_TAGS, FleetFacts

if TYPE_CHECKING:
    from mypy_boto3_appstream import AppStreamClient

    from image_updater.rollout.records import RollbackRecord, RollbackRecords


class FleetNotFound(ImageUpdaterError):
    """The fleet no longer exists."""


class FleetRefused(ImageUpdaterError):
    """AppStream refused to change the fleet (incompatible image, state, parameters)."""


class FleetImageNotFound(FleetRefused):
    """UpdateFleet named an image AppStream does not find (deleted, or no longer shared):
    the fleet exists and is left as it is."""


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

# The fleet's own answers first; throttling, network and the rest as for images.
_FLEET_ERRORS: ErrorsByCode = {
    **IMAGE_ERRORS,
    "ResourceNotFoundException": FleetNotFound,
    **dict.fromkeys(_REFUSALS, FleetRefused),
    "ResourceInUseException": AppStreamBusy,  # e.g. STARTING or STOPPING: try later
}


class AppStreamFleets:
    def __init__(
        self, client: AppStreamClient | None = None, records: RollbackRecords | None = None
    ) -> None:
        # Reads may be re-sent by the SDK; changes (UpdateFleet, tagging) never are.
        self._clients = Clients(client)
        self._records = records  # the ledger's rollback records: opened on first use

    @property
    def records(self) -> RollbackRecords:
        if self._records is None:
            # Imported here: reading fleets (the plan, the health check) never opens the ledger.
            from image_updater.rollout.records import RollbackRecords

            self._records = RollbackRecords()
        return self._records

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
        """Image name or ARN -> the fleets whose rollback target it is (retention must not
        delete it): the ledger's records of the fleets that exist, and, as a second source,
        their PreviousImage tags. A tag can only make retention keep more, never delete more,
        so reading it too is strictly safer (a record lost with its table, a fleet changed by
        a version that kept the record in tags only)."""
        targets: dict[str, list[str]] = {}
        fleets = {fleet["Name"]: fleet for fleet in self._all_fleets()}
        for record in self.records.every():
            if record.fleet in fleets:
                for image in {record.previous_image, record.previous_image_arn} - {None}:
                    targets.setdefault(str(image), []).append(record.fleet)
        for name, fleet in fleets.items():
            previous = self.tags(fleet["Arn"]).get(PREVIOUS_IMAGE_TAG)
            if previous and name not in targets.get(previous, []):
                targets.setdefault(previous, []).append(name)
        return targets

    def builder_images(self) -> dict[str, list[str]]:
        """Image ARN -> the image builders started from it (every page)."""
        used: dict[str, list[str]] = {}
        for page in pages(self._clients.reads.describe_image_builders, MaxResults=PAGE_SIZE):
            for builder in page.get("ImageBuilders", []):
                if builder.get("ImageArn"):
                    used.setdefault(builder["ImageArn"], []).append(builder["Name"])
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
                with translated_errors(_FLEET_ERRORS):
                    described = self._clients.reads.describe_fleets(Names=[name])["Fleets"]
            except FleetNotFound:
                continue
            found += [FleetFacts.from_appstream(dict(f), self.tags(f["Arn"])) for f in described]
        return found

    def tags(self, arn: str) -> dict[str, str]:
        with translated_errors(_FLEET_ERRORS):
            return dict(self._clients.reads.list_tags_for_resource(ResourceArn=arn).get("Tags", {}))

    def set_image(self, name: str, image: str) -> None:
        """UpdateFleet with only the image: by ARN when given one (a shared image can only be
        named by its ARN), else by name. AppStream answers ResourceNotFoundException for a
        missing fleet and for a missing image alike: which one is told by looking the fleet
        up, not by parsing the message."""
        try:
            with translated_errors(_FLEET_ERRORS):
                if image.startswith("arn:"):
                    self._clients.changes.update_fleet(Name=name, ImageArn=image)
                else:
                    self._clients.changes.update_fleet(Name=name, ImageName=image)
        except FleetNotFound as error:
            if not self.fleets([name]):
                raise FleetNotFound(f"fleet {name} no longer exists ({error})") from error
            raise FleetImageNotFound(
                f"image {image} was not found, so fleet {name} was left as it is ({error})"
            ) from error

    # --- the rollback record (the ledger's; the fleet's tags mirror it) ---------------------

    def rollback_record(self, fleet: str) -> RollbackRecord | None:
        return self.records.get(fleet)

    def record_previous_image(
        self, fleet: FleetFacts, rolled_out: str, execution_id: str
    ) -> RollbackRecord:
        """Record the image `fleet` runs now (by ARN too: a shared image can only be named
        by it) before it is put on `rolled_out`: the ledger first, then the mirror."""
        from image_updater.rollout.records import RollbackRecord

        assert fleet.image is not None, "a fleet without an image has nothing to go back to"
        record = RollbackRecord(
            fleet=fleet.name,
            previous_image=fleet.image,
            previous_image_arn=fleet.image_arn or self._image_arn(fleet.image),
            rolled_out=rolled_out,
            execution_id=execution_id,
            recorded_at=clock.utc_now().isoformat(),
        )
        self.restore_record(fleet, record)
        return record

    def restore_record(self, fleet: FleetFacts, record: RollbackRecord) -> None:
        self.records.put(record)
        with translated_errors(_FLEET_ERRORS):
            self._clients.changes.tag_resource(ResourceArn=fleet.arn, Tags=record.mirror())

    def forget_previous_image(self, fleet: FleetFacts) -> None:
        """The record has served: the ledger's first (a mirror left behind refers to no
        record, so it rolls nothing back), then the tags."""
        self.records.forget(fleet.name)
        with translated_errors(_FLEET_ERRORS):
            self._clients.changes.untag_resource(ResourceArn=fleet.arn, TagKeys=list(RECORD_TAGS))

    def _image_arn(self, image: str) -> str | None:
        """The ARN of an image the fleet names by name (DescribeImages), if it still exists."""
        if image.startswith("arn:"):
            return image
        try:
            with translated_errors():
                found = self._clients.reads.describe_images(Names=[image]).get("Images", [])
        except ImageNotFound:
            return None  # gone: the record keeps the name (a rollback to it will say so)
        return next((str(i["Arn"]) for i in found if i.get("Arn")), None)

    def _all_fleets(self) -> Iterator[dict[str, Any]]:
        for page in pages(self._clients.reads.describe_fleets):
            yield from (dict(fleet) for fleet in page.get("Fleets", []))
