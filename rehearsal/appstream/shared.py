"""A consumer's view of images other accounts share with it (a spoke's account).

An image shared with this account is listed by `DescribeImages(Type=SHARED)`, its ARN naming
the owner's account; UpdateFleet takes it by that ARN only (`fleets`), and only while the
owner's share allows fleets (`allowFleet`). AWS documents that removing a share's fleet
permission sets the desired capacity of the consumer's fleets that use the image to 0; which
error UpdateFleet then answers is not documented: OperationNotPermittedException is the
simulation's assumption. The owner's side (UpdateImagePermissions, DescribeImagePermissions)
is `permissions`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rehearsal.appstream.images import Images
from rehearsal.appstream.state import ServiceError, SimulationError


class SharedWithThisAccount(Images):
    """Images other accounts share with this one, and what their owners do to the shares."""

    @property
    def _received(self) -> dict[str, dict[str, bool]]:
        """Image name -> the share's permissions, for images shared with this account."""
        received: dict[str, dict[str, bool]] = self.__dict__.setdefault("_received_shares", {})
        return received

    def receive_shared_image(
        self,
        name: str,
        *,
        owner_account: str,
        description: str | None = None,
        created_time: datetime | None = None,
        state: str = "AVAILABLE",
        platform: str = "WINDOWS_SERVER_2022",
        allow_fleet: bool = True,
        allow_image_builder: bool = True,
    ) -> dict[str, Any]:
        """`owner_account` shared its image `name` with this account (UpdateImagePermissions
        in the owner's account); returns it as DescribeImages lists it here."""
        if owner_account == self.account_id:
            raise SimulationError("an account does not share an image with itself")
        image = self.add_image(
            name,
            visibility="SHARED",
            owner_account=owner_account,
            description=description,
            created_time=created_time,
            state=state,
            platform=platform,
            updates_available=False,  # a consumer cannot update an image it does not own
        )
        with self._lock:
            self._received[name] = {
                "allowFleet": allow_fleet,
                "allowImageBuilder": allow_image_builder,
            }
        return image

    def change_received_share(self, name: str, *, allow_fleet: bool) -> None:
        """The owner changed the share's fleet permission. Taking it away sets the desired
        capacity of this account's fleets that use the image to 0 (AWS documents it)."""
        with self._lock:
            stored = self._stored(name)
            if name not in self._received:
                raise SimulationError(f"image {name!r} was not shared with this account")
            self._received[name]["allowFleet"] = allow_fleet
            if not allow_fleet:
                for user in self._fleets.values():
                    if user.fleet.get("ImageArn") == stored.image["Arn"]:
                        user.fleet["ComputeCapacityStatus"]["Desired"] = 0

    def _refuse_image_for_fleets(self, image: dict[str, Any]) -> None:
        """UpdateFleet to a shared image whose share does not allow fleets is refused."""
        share = self._received.get(image["Name"])
        if image["Visibility"] == "SHARED" and share is not None and not share["allowFleet"]:
            raise ServiceError(
                "OperationNotPermittedException",
                f"The image {image['Arn']} is not shared with account {self.account_id} for "
                "use by fleets.",
            )
