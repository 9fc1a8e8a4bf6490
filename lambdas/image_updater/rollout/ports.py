"""What the roll-out's steps need from AppStream's fleets and images, from the ledger's rollback
records and from CloudWatch's alarms. Only type checking reads this module: the steps take
these as annotations, and a handler passes the adapters (`integrations/`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from image_updater.models import ImageSummary
from image_updater.rollout.models import FleetFacts
from image_updater.rollout.records import RollbackRecord


class FleetsPort(Protocol):
    def all_fleets(self) -> list[FleetFacts]: ...
    def fleets(self, names: Sequence[str]) -> list[FleetFacts]: ...
    def set_image(self, name: str, image: str) -> None: ...
    # The rollback record: kept in the ledger, mirrored on the fleet's tags.
    def rollback_record(self, fleet: str) -> RollbackRecord | None: ...
    def record_previous_image(
        self, fleet: FleetFacts, rolled_out: str, execution_id: str
    ) -> RollbackRecord: ...
    def restore_record(self, fleet: FleetFacts, record: RollbackRecord) -> None: ...
    def forget_previous_image(self, fleet: FleetFacts) -> None: ...


class ImagesPort(Protocol):
    def describe(self, name: str) -> ImageSummary: ...
    def lineage_members(self, root: str) -> list[ImageSummary]: ...


class AlarmsPort(Protocol):
    def states(self, names: Sequence[str]) -> dict[str, str | None]: ...


class AccountView(Protocol):
    """The images and fleets a roll-out step works on: this account's own
    (`integrations/appstream/account.py`), or a spoke's view of the hub's images
    (`spoke/view.py`). Each is built when a step asks for it: the canaries' actions never ask
    for the images."""

    def images(self) -> ImagesPort: ...
    def fleets(self) -> FleetsPort: ...
