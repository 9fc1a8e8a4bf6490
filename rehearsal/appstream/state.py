"""What one simulated AppStream account holds, and the lookups every part of the service uses.

The simulation's parts (images, updates, fleets, tags, builders, permissions, quotas, failures)
are mixins over `AccountState`: each adds its operations and its scripting methods, and all of
them work on this one state under its one lock.
"""

from __future__ import annotations

import base64
import binascii
import copy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.model import OperationModel  # type: ignore[import-untyped, unused-ignore]

Clock = Callable[[], datetime]
ParamsPredicate = Callable[[Mapping[str, Any]], bool]
UpdateOutcome = Literal["AVAILABLE", "FAILED"]
CopyOutcome = Literal["AVAILABLE", "FAILED"]
Operation = Callable[[dict[str, Any], datetime], dict[str, Any]]

DEFAULT_UPDATE_POLLS = 3
DEFAULT_COPY_POLLS = 2
COPIES_PER_DESTINATION = 2  # concurrent image copies per destination Region (AppStream quota)
PAGE_SIZE = 25  # DescribeImages' maximum, and what the service uses when MaxResults is absent


class SimulationError(AssertionError):
    """The simulation, or the way a test drives it, is wrong. Never an AppStream error."""


@dataclass(frozen=True)
class Call:
    """One request as the simulation saw it: `error` is the returned error code, or None;
    `attempt` counts the SDK's sends of the same call (2 and up: botocore re-sent it)."""

    operation: str
    params: dict[str, Any]
    error: str | None
    timestamp: datetime
    attempt: int = 1


@dataclass(frozen=True)
class UpdateScript:
    polls: int
    duration: timedelta | None
    outcome: UpdateOutcome
    reason_code: str
    reason_message: str
    errors: tuple[tuple[str, str], ...]


DEFAULT_SCRIPT = UpdateScript(
    polls=DEFAULT_UPDATE_POLLS,
    duration=None,
    outcome="AVAILABLE",
    reason_code="IMAGE_UPDATE_FAILURE",
    reason_message="The image update failed.",
    errors=(),
)


@dataclass
class Build:
    """A running managed update: AppStream's temporary image builder, as far as anyone can see."""

    script: UpdateScript
    started: datetime
    polls: int = 0

    def is_due(self, now: datetime) -> bool:
        if self.script.duration is not None:
            return now >= self.started + self.script.duration
        return self.polls >= self.script.polls


@dataclass
class CopyInFlight:
    """A copy being made (copies.py): it ends on the `polls_needed`-th DescribeImages naming
    it or, with `duration`, once the clock has moved that far."""

    started: datetime
    polls_needed: int
    duration: timedelta | None
    outcome: CopyOutcome
    polls: int = 0

    def is_due(self, now: datetime) -> bool:
        if self.duration is not None:
            return now >= self.started + self.duration
        return self.polls >= self.polls_needed


@dataclass(frozen=True)
class CopyScript:
    polls: int = DEFAULT_COPY_POLLS
    duration: timedelta | None = None
    outcome: CopyOutcome = "AVAILABLE"


@dataclass
class StoredImage:
    image: dict[str, Any]  # exactly what DescribeImages returns for it
    tags: dict[str, str]
    updates_available: bool
    build: Build | None = None
    copy: CopyInFlight | None = None  # a copy into this Region, being made


@dataclass
class StoredFleet:
    fleet: dict[str, Any]  # exactly what DescribeFleets returns for it
    tags: dict[str, str]


@dataclass
class InjectedFailure:
    operation: str
    code: str
    message: str
    remaining: int | None  # None: until cleared
    when: ParamsPredicate | None
    whole_calls: bool  # counts calls, each failed on every send; else counts sends


@dataclass
class PendingCall:
    """One call of a client, across the requests botocore sends for it (its context's)."""

    model: OperationModel
    params: dict[str, Any]
    failure: InjectedFailure | None = None  # the injected failure that took this call


class ServiceError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def require_available(image: Mapping[str, Any], code: str) -> None:
    """An image that is not AVAILABLE cannot be used: `code` is what the operation answers."""
    if image["State"] != "AVAILABLE":
        raise ServiceError(code, f"Image {image['Name']} is {image['State']}.")


def utc_now() -> datetime:
    return datetime.now(UTC)


class AccountState:
    """The account's images, fleets, builders, shares, quotas and the record of its calls."""

    # Every operation the simulation answers, by name (filled by `SimulatedAppStream`).
    _operations: dict[str, Operation]

    def __init__(
        self,
        *,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        partition: str = "aws",
        clock: Clock | None = None,
        pause: Callable[[float], None] | None = None,
    ) -> None:
        """`pause`: what botocore's pause before a re-send does (e.g. advance a simulated
        clock); by default nothing. Either way it is recorded in `sdk_pauses`."""
        self.account_id = account_id
        self.region = region
        self.partition = partition
        self._clock: Clock = clock or utc_now
        self._lock = threading.Lock()
        self._images: dict[str, StoredImage] = {}  # insertion order is the listing order
        self._scripts: dict[str, UpdateScript] = {}
        self._failures: list[InjectedFailure] = []
        self._calls: list[Call] = []
        self._pause = pause
        self._sdk_pauses: list[float] = []
        self._violations: list[str] = []
        self._concurrent_update_quota = 5
        self._image_quota = 10
        self._image_builder_quota = 10
        self._image_builders = 0  # the account's own image builders (not the updates')
        self._max_concurrent_updates_seen = 0
        self._listing_lag = timedelta(0)  # see lag_listing
        # The account's other durable state that runs leave behind (the updater's DynamoDB
        # ledger): the workflow runner saves it here after each run and restores it before
        # the next, as AWS would keep it.
        self.account_state: dict[str, Any] = {}
        self.deleted: list[str] = []  # images DeleteImage removed, in order
        self._fleets: dict[str, StoredFleet] = {}  # insertion order is the listing order
        self._fleet_updates: list[tuple[str, str]] = []  # (fleet, image name), UpdateFleet's
        self._builders: dict[str, dict[str, Any]] = {}
        # image name -> account id -> ImagePermissions, as UpdateImagePermissions gave them
        self._shares: dict[str, dict[str, dict[str, bool]]] = {}
        self._copy_quota = COPIES_PER_DESTINATION
        self._copy_script = CopyScript()
        self._lost_responses: dict[str, int] = {}  # operation -> responses still to lose
        # The account's Regions, this one included (regions.py), sharing this state's lock.
        self._regions: dict[str, Any] = {}
        self._operations = self._answered_operations()

    def _answered_operations(self) -> dict[str, Operation]:
        raise NotImplementedError  # the whole simulation knows them all

    def _refuse_image_for_fleets(self, image: dict[str, Any]) -> None:
        """Raise the error UpdateFleet answers when `image` may not go on a fleet (a share
        that does not allow fleets: shared.py); by default every image may."""

    def _violation(self, code: str, message: str) -> ServiceError:
        """A request the real service would refuse: the caller has a bug, so say it loudly."""
        self._violations.append(message)
        return ServiceError(code, message)

    def _page_start(self, token: str | None, total: int) -> int:
        if token is None:
            return 0
        try:
            start = int(base64.b64decode(token, altchars=b"-_", validate=True))
        except (ValueError, binascii.Error):
            start = -1
        if not 0 <= start <= total:
            raise self._violation(
                "ValidationException", f"DescribeImages: invalid NextToken {token!r}"
            )
        return start

    def _stored(self, name: str) -> StoredImage:
        stored = self._images.get(name)
        if stored is None:
            raise ServiceError("ResourceNotFoundException", f"Image {name} not found.")
        return stored

    def _stored_by_arn(self, arn: str) -> StoredImage:
        for stored in self._images.values():
            if stored.image["Arn"] == arn:
                return stored
        raise ServiceError("ResourceNotFoundException", f"Resource {arn} not found.")

    def _building(self) -> list[str]:
        return [name for name, stored in self._images.items() if stored.build is not None]

    def _private_image_count(self) -> int:
        return sum(1 for s in self._images.values() if s.image["Visibility"] == "PRIVATE")

    def _image_arn(self, name: str, visibility: str, owner: str | None = None) -> str:
        # AWS's public base images belong to no account: their ARNs leave it empty.
        account = "" if visibility == "PUBLIC" else owner or self.account_id
        return f"arn:{self.partition}:appstream:{self.region}:{account}:image/{name}"

    def _page(
        self, key: str, items: list[Any], token: str | None, page_size: int
    ) -> dict[str, Any]:
        """One page of `items` under `key`, from `token` on, with the next page's token."""
        start = self._page_start(token, len(items))
        result: dict[str, Any] = {key: copy.deepcopy(items[start : start + page_size])}
        if start + page_size < len(items):
            result["NextToken"] = _page_token(start + page_size)
        return result


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode("ascii")).decode("ascii")
