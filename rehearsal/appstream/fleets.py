"""Fleets: what DescribeFleets lists and UpdateFleet changes, and how tests set them up."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rehearsal.appstream.constraints import (
    require_enum,
    require_valid_fleet,
    require_valid_fleet_tags,
)
from rehearsal.appstream.state import (
    AccountState,
    ServiceError,
    SimulationError,
    StoredFleet,
    require_available,
)

# DescribeFleets takes no MaxResults: the simulation pages its answer at this size.
_FLEET_PAGE_SIZE = 10


class Fleets(AccountState):
    """The account's fleets, their health and tags, and the calls that read and move them."""

    def add_fleet(
        self,
        name: str,
        *,
        image: str | None = None,
        by_arn: bool = False,
        fleet_type: str = "ALWAYS_ON",
        state: str = "RUNNING",
        platform: str = "WINDOWS_SERVER_2022",
        tags: Mapping[str, str] | None = None,
        desired: int = 1,
        running: int | None = None,
        max_sessions_per_instance: int | None = None,
    ) -> dict[str, Any]:
        """A fleet using `image` (by name, or by ARN with `by_arn`); returns it as
        DescribeFleets would. `desired` and `running` (by default `desired`, and 0 for a
        STOPPED fleet) are its ComputeCapacityStatus. An Elastic fleet streams from app blocks,
        so it has no image; `desired` is its MaxConcurrentSessions, as it asks for sessions,
        not instances (ComputeCapacityStatus stays, since DescribeFleets always returns it)."""
        require_enum(fleet_type, "FleetType", "fleet type")
        require_enum(state, "FleetState", "fleet state")
        require_enum(platform, "PlatformType", "platform")
        if image is not None and fleet_type == "ELASTIC":
            raise SimulationError(f"Elastic fleet {name} streams from app blocks, not an image")
        if running is None:
            running = 0 if state == "STOPPED" else desired
        elif state == "STOPPED" and running:
            raise SimulationError(f"a STOPPED fleet runs no instances, not {running}")
        fleet: dict[str, Any] = {
            "Name": name,
            "Arn": f"arn:{self.partition}:appstream:{self.region}:{self.account_id}:fleet/{name}",
            "InstanceType": "stream.standard.medium",
            "FleetType": fleet_type,
            "ComputeCapacityStatus": {"Desired": desired, "Running": running},
            "State": state,
            "CreatedTime": self._clock(),
            "Platform": platform,
        }
        if fleet_type == "ELASTIC":
            if max_sessions_per_instance is not None:
                # Multi-session is for Always-On and On-Demand fleets: Elastic ones have no
                # instances of their own to share.
                raise SimulationError("an Elastic fleet has no MaxSessionsPerInstance")
            fleet["MaxConcurrentSessions"] = desired
        elif max_sessions_per_instance is not None:
            fleet["MaxSessionsPerInstance"] = max_sessions_per_instance
        require_valid_fleet(fleet)
        require_valid_fleet_tags(tags or {})
        with self._lock:
            if name in self._fleets:
                raise ValueError(f"fleet {name!r} exists already")
            self._fleets[name] = StoredFleet(fleet, dict(tags or {}))
            self._point_fleet(name, image, by_arn=by_arn)
            return copy.deepcopy(fleet)

    def set_fleet_image(self, name: str, image: str | None, *, by_arn: bool = False) -> None:
        """What UpdateFleet does to a fleet's image (the admin moving it to a newer one).
        Not recorded in `fleet_updates`, which holds what the code under test asked for."""
        with self._lock:
            self._point_fleet(name, image, by_arn=by_arn)

    def set_fleet_health(
        self,
        name: str,
        *,
        state: str | None = None,
        errors: Sequence[tuple[str, str]] | None = None,
        running: int | None = None,
    ) -> None:
        """How a fleet is doing now: its `state`, its FleetErrors as (ErrorCode, ErrorMessage)
        pairs (an empty list clears them) and the instances `running`. A fleet set STOPPED
        runs none unless told otherwise."""
        if state is not None:
            require_enum(state, "FleetState", "fleet state")
        for code, _message in errors or ():
            require_enum(code, "FleetErrorCode", "fleet error code")
        with self._lock:
            fleet = copy.deepcopy(self._stored_fleet(name).fleet)
            if state is not None:
                fleet["State"] = state
                if state == "STOPPED" and running is None:
                    running = 0
            if running is not None:
                if fleet["State"] == "STOPPED" and running:
                    raise SimulationError(f"a STOPPED fleet runs no instances, not {running}")
                fleet["ComputeCapacityStatus"]["Running"] = running
            if errors is not None:
                fleet.pop("FleetErrors", None)
                if errors:
                    fleet["FleetErrors"] = [
                        {"ErrorCode": code, "ErrorMessage": message} for code, message in errors
                    ]
            require_valid_fleet(fleet)  # before anything changes, so a bad script changes none
            self._fleets[name].fleet = fleet

    def fleet_tags(self, name: str) -> dict[str, str]:
        with self._lock:
            return dict(self._stored_fleet(name).tags)

    def set_fleet_tags(self, name: str, tags: Mapping[str, str]) -> None:
        """What an admin does in the console: the fleet's tags become exactly `tags`."""
        require_valid_fleet_tags(tags)
        with self._lock:
            self._stored_fleet(name).tags = dict(tags)

    def _point_fleet(self, name: str, image: str | None, *, by_arn: bool) -> None:
        fleet = self._stored_fleet(name).fleet
        if image is not None and fleet["FleetType"] == "ELASTIC":
            raise SimulationError(f"Elastic fleet {name} streams from app blocks, not an image")
        fleet.pop("ImageName", None)
        fleet.pop("ImageArn", None)
        if image is not None:
            arn = self._images[image].image["Arn"] if image in self._images else image
            fleet["ImageArn" if by_arn else "ImageName"] = arn if by_arn else image

    @property
    def fleets(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: copy.deepcopy(stored.fleet) for name, stored in self._fleets.items()}

    @property
    def fleet_updates(self) -> list[tuple[str, str]]:
        """(fleet, image name) for each UpdateFleet that changed a fleet's image, in order."""
        with self._lock:
            return list(self._fleet_updates)

    def _describe_fleets(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        names = params.get("Names")
        stored = [self._stored_fleet(n) for n in names] if names else self._fleets.values()
        fleets = [s.fleet for s in stored]
        return self._page("Fleets", fleets, params.get("NextToken"), _FLEET_PAGE_SIZE)

    def _stored_fleet(self, name: str) -> StoredFleet:
        stored = self._fleets.get(name)
        if stored is None:
            raise ServiceError("ResourceNotFoundException", f"Fleet {name} not found.")
        return stored

    def _update_fleet(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Moves a fleet to another image: the one UpdateFleet change the simulation models
        (`_perform` refuses every other member, and a request without Name)."""
        image_name: str | None = params.get("ImageName")
        image_arn: str | None = params.get("ImageArn")
        if image_name is not None and image_arn is not None:
            raise ServiceError(
                "InvalidParameterCombinationException",
                "ImageName and ImageArn cannot be used together.",
            )
        fleet = self._stored_fleet(params["Name"]).fleet
        name = fleet["Name"]
        if fleet["State"] in ("STARTING", "STOPPING"):
            # The API reference says "STARTING or STOPPED state, you can't update it", and
            # in the same breath that a STOPPED fleet can have any attribute updated: STOPPING
            # is what it means.
            raise ServiceError(
                "ConcurrentModificationException", f"Fleet {name} is {fleet['State']}."
            )
        if image_name is None and image_arn is None:
            # Nothing to change. What AppStream answers is not documented: the fleet as it is.
            return {"Fleet": copy.deepcopy(fleet)}
        if fleet["FleetType"] == "ELASTIC":
            raise ServiceError(
                "InvalidParameterCombinationException",
                f"Fleet {name} is an Elastic fleet: Elastic fleets use app blocks, not images.",
            )
        if image_arn is not None:
            image = self._stored_by_arn(image_arn).image
            self._refuse_image_for_fleets(image)
        else:
            assert image_name is not None  # one of them is given: see above
            image = self._stored(image_name).image
            if image["Visibility"] == "SHARED":
                # A consumer names an image shared with it by its ARN: by name, AppStream
                # looks for an image of this account (and says so).
                raise ServiceError(
                    "ResourceNotFoundException",
                    f"The image {image_name} for account {self.account_id} does not exist.",
                )
        require_available(image, "ResourceNotAvailableException")
        if image["Platform"] != fleet["Platform"]:
            if fleet["State"] != "STOPPED":
                # AWS documents that moving a fleet to an image of another operating system
                # needs the fleet stopped first; which error a running fleet gets is not
                # documented. IncompatibleImageException is our assumption.
                raise ServiceError(
                    "IncompatibleImageException",
                    f"Image {image['Name']} is {image['Platform']} and fleet {name} runs "
                    f"{fleet['Platform']}: stop the fleet to change its platform.",
                )
            fleet["Platform"] = image["Platform"]
        # DescribeFleets shows both, whichever of them the update named.
        fleet["ImageName"] = image["Name"]
        fleet["ImageArn"] = image["Arn"]
        self._fleet_updates.append((name, image["Name"]))
        return {"Fleet": copy.deepcopy(fleet)}
