"""A stateful, thread-safe simulation of the AppStream 2.0 API subset the image updater uses.

Real `boto3.client("appstream")` calls are answered in-process through botocore's event system,
so the code under test keeps its real client, client-side validation and exception classes, and
nothing reaches the network. Each request is answered where botocore would send it, with an
HTTP response in AppStream's wire protocol (`rehearsal.appstream_wire`): botocore parses it and
applies its retry policy as it does against AWS, and every request it sends, re-sends
included, is one entry in `calls`. The simulation also checks what the service checks and botocore
does not (`pattern`, `max`, `enum`, map sizes) and records each breach in `violations`; and it
checks its own responses against the model, so a fault in the simulation cannot pass for one in
the code under test.

    sim = SimulatedAppStream()
    sim.add_image("SalesApps")
    with sim.active():
        client = boto3.client("appstream", region_name="us-east-1")
        client.describe_images(Names=["SalesApps"])

Only sessions created after this module is imported carry the hooks; `activate()` drops boto3's
cached default session so that `boto3.client()` builds a new one. A client built from an older
session is not intercepted and would call AWS.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3  # type: ignore[import-untyped, unused-ignore]
import botocore.handlers  # type: ignore[import-untyped, unused-ignore]
import regex  # type: ignore[import-untyped, unused-ignore]
from botocore.awsrequest import AWSResponse  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    EndpointConnectionError,
    ParamValidationError,
)
from botocore.model import (  # type: ignore[import-untyped, unused-ignore]
    ListShape,
    MapShape,
    OperationModel,
    Shape,
    StructureShape,
)
from botocore.session import get_session  # type: ignore[import-untyped, unused-ignore]
from botocore.validate import validate_parameters  # type: ignore[import-untyped, unused-ignore]

from rehearsal import appstream_wire as wire

Clock = Callable[[], datetime]
ParamsPredicate = Callable[[Mapping[str, Any]], bool]
UpdateOutcome = Literal["AVAILABLE", "FAILED"]

DEFAULT_UPDATE_POLLS = 3
_PAGE_SIZE = 25  # DescribeImages' maximum, and what the service uses when MaxResults is absent
_RESERVED_NAME_PREFIXES = ("Amazon", "AWS", "AppStream")
_CONTEXT_KEY = "rehearsal.appstream.params"


_SHARING_ACCOUNT = "210987654321"  # shares the SHARED images a test adds without an owner


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
class _UpdateScript:
    polls: int
    duration: timedelta | None
    outcome: UpdateOutcome
    reason_code: str
    reason_message: str
    errors: tuple[tuple[str, str], ...]


_DEFAULT_SCRIPT = _UpdateScript(
    polls=DEFAULT_UPDATE_POLLS,
    duration=None,
    outcome="AVAILABLE",
    reason_code="IMAGE_UPDATE_FAILURE",
    reason_message="The image update failed.",
    errors=(),
)


@dataclass
class _Build:
    """A running managed update: AppStream's temporary image builder, as far as anyone can see."""

    script: _UpdateScript
    started: datetime
    polls: int = 0

    def is_due(self, now: datetime) -> bool:
        if self.script.duration is not None:
            return now >= self.started + self.script.duration
        return self.polls >= self.script.polls


@dataclass
class _StoredImage:
    image: dict[str, Any]  # exactly what DescribeImages returns for it
    tags: dict[str, str]
    updates_available: bool
    build: _Build | None = None


@dataclass
class _StoredFleet:
    fleet: dict[str, Any]  # exactly what DescribeFleets returns for it
    tags: dict[str, str]


@dataclass
class _InjectedFailure:
    operation: str
    code: str
    message: str
    remaining: int | None  # None: until cleared
    when: ParamsPredicate | None
    whole_calls: bool  # counts calls, each failed on every send; else counts sends


@dataclass
class _PendingCall:
    """One call of a client, across the requests botocore sends for it (its context's)."""

    model: OperationModel
    params: dict[str, Any]
    failure: _InjectedFailure | None = None  # the injected failure that took this call


class _ServiceError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


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

# DescribeFleets takes no MaxResults: the simulation pages its answer at this size.
_FLEET_PAGE_SIZE = 10

# An injected "error code" that is no AppStream answer at all: the request never arrived.
NETWORK_FAILURE = "EndpointConnectionError"

# AppStream's limit on tags per resource (the Tags map's maximum in the model is per request).
_TAGS_PER_RESOURCE = 50

# Members the service requires although the model marks none required (every member of
# UpdateFleetRequest is optional in it, so botocore lets a request without them through).
_REQUIRED_BY_SERVICE: Mapping[str, tuple[str, ...]] = {"UpdateFleet": ("Name",)}

# The members the simulation acts on, for operations whose other members it does not model:
# ignoring one would let a test pass for a request whose effect nobody simulated.
_MODELED_MEMBERS: Mapping[str, frozenset[str]] = {
    "UpdateFleet": frozenset({"Name", "ImageName", "ImageArn"}),
}


_APPSTREAM_MODEL = get_session().get_service_model("appstream")


class SimulatedAppStream:
    """AppStream images, tags and managed updates, scripted by tests and driven by real clients."""

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
        self._clock: Clock = clock or _utc_now
        self._lock = threading.Lock()
        self._images: dict[str, _StoredImage] = {}  # insertion order is the listing order
        self._scripts: dict[str, _UpdateScript] = {}
        self._failures: list[_InjectedFailure] = []
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
        self._fleets: dict[str, _StoredFleet] = {}  # insertion order is the listing order
        self._fleet_updates: list[tuple[str, str]] = []  # (fleet, image name), UpdateFleet's
        self._builders: dict[str, dict[str, Any]] = {}
        self._shares: dict[str, set[str]] = {}  # image name -> account ids
        self._operations: dict[str, Callable[[dict[str, Any], datetime], dict[str, Any]]] = {
            "DescribeImages": self._describe_images,
            "ListTagsForResource": self._list_tags_for_resource,
            "CreateUpdatedImage": self._create_updated_image,
            "DescribeFleets": self._describe_fleets,
            "DescribeImageBuilders": self._describe_image_builders,
            "DescribeImagePermissions": self._describe_image_permissions,
            "DeleteImage": self._delete_image,
            "UpdateFleet": self._update_fleet,
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
        }

    # --- activation --------------------------------------------------------------------------

    def activate(self) -> None:
        """Answer AppStream calls from now on, until `deactivate()`."""
        with _activation.lock:
            if _activation.simulation not in (None, self):
                raise SimulationError("another SimulatedAppStream is active")
            install_hooks()
            _activation.simulation = self
            _use_a_hooked_default_session()

    def deactivate(self) -> None:
        with _activation.lock:
            if _activation.simulation is self:
                _activation.simulation = None

    @contextmanager
    def active(self) -> Iterator[SimulatedAppStream]:
        self.activate()
        try:
            yield self
        finally:
            self.deactivate()

    @contextmanager
    def pausing_with(self, pause: Callable[[float], None]) -> Iterator[None]:
        """Within the block, botocore's pauses before re-sends call `pause` instead."""
        before, self._pause = self._pause, pause
        try:
            yield
        finally:
            self._pause = before

    # --- scripting ---------------------------------------------------------------------------

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
    ) -> dict[str, Any]:
        """Add an image as it would exist already; returns it as DescribeImages would.
        An image added in a non-terminal state stays in it: start a managed update through
        the API to get one that progresses. A SHARED image (shared into this account) has
        its `owner_account` (by default another one) in its ARN, and UpdateFleet finds it by
        that ARN only."""
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
        if display_name:
            image["DisplayName"] = display_name
        if description:
            image["Description"] = description
        if shared_with_others:
            # The owner still sees its image as PRIVATE; sharing shows in this flag only.
            image["ImageSharedWithOthers"] = "TRUE"
        _require_valid(image, _APPSTREAM_MODEL.shape_for("Image"), "image")
        if tags:
            _require_valid(dict(tags), _APPSTREAM_MODEL.shape_for("Tags"), "tags")
        with self._lock:
            if name in self._images:
                raise ValueError(f"image {name!r} exists already")
            self._images[name] = _StoredImage(image, dict(tags or {}), updates_available)
            return copy.deepcopy(image)

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
        script = _UpdateScript(
            polls=polls,
            duration=duration,
            outcome=outcome,
            reason_code=reason_code,
            reason_message=reason_message,
            errors=tuple(errors or [("INTERNAL_SERVICE_ERROR", reason_message)]),
        )
        with self._lock:
            self._scripts[source_name] = script

    def lag_listing(self, lag: timedelta) -> None:
        """DescribeImages shows an image only `lag` after its creation (by name too: until
        then, ResourceNotFoundException), as an eventually consistent listing could. AWS does
        not document that it lists a new image at once; CreateUpdatedImage still refuses the
        name meanwhile."""
        with self._lock:
            self._listing_lag = lag

    def _not_yet_listed(self, stored: _StoredImage, now: datetime) -> bool:
        return bool(self._listing_lag) and now < stored.image["CreatedTime"] + self._listing_lag

    def set_updates_available(self, name: str, available: bool) -> None:
        with self._lock:
            self._stored(name).updates_available = available

    def fail(
        self,
        operation: str,
        code: str,
        *,
        calls: int | None = 1,
        message: str | None = None,
        when: ParamsPredicate | None = None,
    ) -> None:
        """The next `calls` calls of `operation` whose params satisfy `when` fail with error
        `code` on every request the SDK sends for them, re-sends included: the code sees the
        error whatever its client's retry policy (`calls=None`: every call until
        `clear_failures`). Failures come after the checks against the model, so they never
        hide a violation of it. `NETWORK_FAILURE` makes a request fail as an unreachable
        endpoint does, with botocore's EndpointConnectionError."""
        self._inject(operation, code, calls, message, when, whole_calls=True)

    def fail_sends(
        self,
        operation: str,
        code: str,
        *,
        sends: int | None = 1,
        message: str | None = None,
        when: ParamsPredicate | None = None,
    ) -> None:
        """The next `sends` requests of `operation` (whichever calls they belong to) fail with
        `code`, as `fail` says: a brief fault, which the SDK's re-sends may absorb."""
        self._inject(operation, code, sends, message, when, whole_calls=False)

    def clear_failures(self, operation: str | None = None) -> None:
        """No further injected failures (of `operation`, or of any). A call already failing
        goes on failing on its re-sends."""
        with self._lock:
            self._failures = [f for f in self._failures if operation not in (None, f.operation)]

    def _inject(
        self,
        operation: str,
        code: str,
        count: int | None,
        message: str | None,
        when: ParamsPredicate | None,
        *,
        whole_calls: bool,
    ) -> None:
        if operation not in self._operations:
            raise ValueError(f"the simulation does not implement {operation!r}")
        if count is not None and count < 1:
            raise ValueError("the count must be at least 1, or None for until cleared")
        failure = _InjectedFailure(
            operation=operation,
            code=code,
            message=message or f"{code} (injected by the simulation)",
            remaining=count,
            when=when,
            whole_calls=whole_calls,
        )
        with self._lock:
            self._failures.append(failure)

    def remove_tags(self, name: str, *keys: str) -> None:
        """What an admin does with UntagResource in the console: the image stays as it was."""
        with self._lock:
            tags = self._stored(name).tags
            for key in keys:
                tags.pop(key, None)

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
        _require_enum(fleet_type, "FleetType", "fleet type")
        _require_enum(state, "FleetState", "fleet state")
        _require_enum(platform, "PlatformType", "platform")
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
        _require_valid_fleet(fleet)
        _require_valid_fleet_tags(tags or {})
        with self._lock:
            if name in self._fleets:
                raise ValueError(f"fleet {name!r} exists already")
            self._fleets[name] = _StoredFleet(fleet, dict(tags or {}))
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
            _require_enum(state, "FleetState", "fleet state")
        for code, _message in errors or ():
            _require_enum(code, "FleetErrorCode", "fleet error code")
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
            _require_valid_fleet(fleet)  # before anything changes, so a bad script changes none
            self._fleets[name].fleet = fleet

    def fleet_tags(self, name: str) -> dict[str, str]:
        with self._lock:
            return dict(self._stored_fleet(name).tags)

    def set_fleet_tags(self, name: str, tags: Mapping[str, str]) -> None:
        """What an admin does in the console: the fleet's tags become exactly `tags`."""
        _require_valid_fleet_tags(tags)
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

    def add_image_builder(self, name: str, *, image: str) -> None:
        """An image builder started from `image` (it counts toward the builders quota)."""
        with self._lock:
            self._builders[name] = {
                "Name": name,
                "Arn": (
                    f"arn:{self.partition}:appstream:{self.region}:{self.account_id}"
                    f":image-builder/{name}"
                ),
                "ImageArn": self._images[image].image["Arn"],
                "State": "RUNNING",
            }

    def share_image(self, name: str, account_id: str) -> None:
        """UpdateImagePermissions: `name` is shared with another account."""
        with self._lock:
            self._shares.setdefault(name, set()).add(account_id)
            self._stored(name).image["ImageSharedWithOthers"] = "TRUE"

    @property
    def fleets(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: copy.deepcopy(stored.fleet) for name, stored in self._fleets.items()}

    @property
    def fleet_updates(self) -> list[tuple[str, str]]:
        """(fleet, image name) for each UpdateFleet that changed a fleet's image, in order."""
        with self._lock:
            return list(self._fleet_updates)

    def set_quota(
        self, *, concurrent_updates: int = 5, images: int = 10, image_builders: int = 10
    ) -> None:
        """Service Quotas: concurrent managed updates, private images and image builders in
        the account (AppStream's defaults)."""
        with self._lock:
            self._concurrent_update_quota = concurrent_updates
            self._image_quota = images
            self._image_builder_quota = image_builders

    def set_image_builders(self, count: int) -> None:
        """How many image builders the account runs besides the updates' temporary ones."""
        with self._lock:
            self._image_builders = count

    # --- introspection -----------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def sdk_pauses(self) -> list[float]:
        """The seconds botocore paused before each re-send, in order."""
        with self._lock:
            return list(self._sdk_pauses)

    @property
    def images(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            self._finish_due_builds(self._clock())
            return {name: copy.deepcopy(stored.image) for name, stored in self._images.items()}

    @property
    def image_count(self) -> int:
        """How many images of its own the account holds (what the images quota counts)."""
        with self._lock:
            return self._private_image_count()

    def tags(self, name: str) -> dict[str, str]:
        with self._lock:
            return dict(self._stored(name).tags)

    @property
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    @property
    def max_concurrent_updates_seen(self) -> int:
        with self._lock:
            return self._max_concurrent_updates_seen

    def updates_in_progress(self) -> list[str]:
        """Names of the images being built, oldest update first."""
        with self._lock:
            self._finish_due_builds(self._clock())
            return self._building()

    # --- the service -------------------------------------------------------------------------

    def _answer(self, call: _PendingCall, url: str, attempt: int) -> AWSResponse:
        """One request of `call`, answered as AppStream's HTTP response; `attempt` counts the
        SDK's sends of the call. A network failure is raised, as sending it would."""
        operation = call.model
        request = copy.deepcopy(call.params)  # the record's own copy
        with self._lock:
            now = self._clock()
            self._finish_due_builds(now)
            try:
                result = self._perform(call, request, now)
            except _ServiceError as error:
                self._calls.append(Call(operation.name, request, error.code, now, attempt))
                if error.code == NETWORK_FAILURE:
                    raise EndpointConnectionError(endpoint_url=url) from None
                return wire.error(url, operation, error.code, error.message)
            _require_valid_response(operation, result)
            self._calls.append(Call(operation.name, request, None, now, attempt))
            return wire.success(url, operation, result)

    def _pause_before_resend(self, seconds: float) -> None:
        with self._lock:
            self._sdk_pauses.append(seconds)
        if self._pause is not None:
            self._pause(seconds)

    def _perform(self, call: _PendingCall, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        operation = call.model
        perform = self._operations.get(operation.name)
        if perform is None:
            raise self._violation(
                "UnsupportedOperation",
                f"{operation.name}: the simulation does not implement this operation",
            )
        assert operation.input_shape is not None  # every operation we answer takes input
        problems = list(_constraint_violations(params, operation.input_shape, ""))
        if problems:
            raise self._violation(
                "ValidationException",
                f"{operation.name}: {len(problems)} validation error(s) detected: "
                + "; ".join(problems),
            )
        missing = [m for m in _REQUIRED_BY_SERVICE.get(operation.name, ()) if m not in params]
        if missing:
            raise self._violation(
                "ValidationException", f"{operation.name}: {', '.join(missing)} is required"
            )
        modeled = _MODELED_MEMBERS.get(operation.name)
        unmodeled = sorted(set(params) - modeled) if modeled is not None else []
        if unmodeled:
            raise self._violation(
                "UnsupportedParameter",
                f"{operation.name}: the simulation does not model {', '.join(unmodeled)}",
            )
        self._raise_injected_failure(call, params)
        return perform(params, now)

    def _describe_images(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        names, arns = params.get("Names"), params.get("Arns")
        if names and arns:
            raise _ServiceError(
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
            raise _ServiceError("ResourceNotFoundException", "Image not found.")
        selected = [s for s in selected if not self._not_yet_listed(s, now)]
        if names or arns:
            # Asking about an image being built is what moves a poll-scripted build along.
            for stored in selected:
                if stored.build is not None:
                    stored.build.polls += 1
            self._finish_due_builds(now)
        visibility = params.get("Type")
        matching = [s.image for s in selected if visibility in (None, s.image["Visibility"])]
        page_size = params.get("MaxResults") or _PAGE_SIZE  # 0 would never make progress
        start = self._page_start(params.get("NextToken"), len(matching))
        result: dict[str, Any] = {"Images": copy.deepcopy(matching[start : start + page_size])}
        if start + page_size < len(matching):
            result["NextToken"] = _page_token(start + page_size)
        return result

    def _list_tags_for_resource(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {"Tags": dict(self._tags_of(params["ResourceArn"]))}

    def _tag_resource(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        # A key starting with "aws:" never gets here: the model's TagKey pattern refuses it, so
        # it is a ValidationException (none of TagResource's modeled errors is about keys).
        arn: str = params["ResourceArn"]
        tags = self._tags_of(arn)
        merged = {**tags, **params["Tags"]}  # a key it has already gets the new value
        if len(merged) > _TAGS_PER_RESOURCE:
            raise _ServiceError(
                "LimitExceededException",
                f"Resource {arn} would have {len(merged)} tags; "
                f"the limit is {_TAGS_PER_RESOURCE} per resource.",
            )
        tags.update(params["Tags"])
        return {}

    def _untag_resource(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        tags = self._tags_of(params["ResourceArn"])
        for key in params["TagKeys"]:
            tags.pop(key, None)  # a key the resource does not have is no error
        return {}

    def _tags_of(self, arn: str) -> dict[str, str]:
        """The tags of the fleet or image `arn` names: the stored dict itself, to change."""
        if ":fleet/" in arn:
            for stored in self._fleets.values():
                if stored.fleet["Arn"] == arn:
                    return stored.tags
            raise _ServiceError("ResourceNotFoundException", f"Resource {arn} not found.")
        return self._stored_by_arn(arn).tags

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
            raise _ServiceError("ResourceAlreadyExistsException", f"Image {new_name} exists.")
        if len(self._building()) >= self._concurrent_update_quota:
            raise _ServiceError(
                "LimitExceededException",
                "The number of concurrent image updates exceeds the quota for this account.",
            )
        if self._private_image_count() >= self._image_quota:
            raise _ServiceError(
                "LimitExceededException", "The number of images exceeds the quota for this account."
            )
        builders = len(self._building()) + self._image_builders + len(self._builders)
        if builders >= self._image_builder_quota:
            # An update runs a temporary image builder, which counts toward that quota.
            raise _ServiceError(
                "LimitExceededException",
                "The number of image builders exceeds the quota for this account.",
            )
        image = self._start_update(source, params, now)
        return {"image": copy.deepcopy(image), "canUpdateImage": True}

    def _describe_fleets(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        names = params.get("Names")
        stored = [self._stored_fleet(n) for n in names] if names else self._fleets.values()
        fleets = [s.fleet for s in stored]
        start = self._page_start(params.get("NextToken"), len(fleets))
        result: dict[str, Any] = {"Fleets": copy.deepcopy(fleets[start : start + _FLEET_PAGE_SIZE])}
        if start + _FLEET_PAGE_SIZE < len(fleets):
            result["NextToken"] = _page_token(start + _FLEET_PAGE_SIZE)
        return result

    def _stored_fleet(self, name: str) -> _StoredFleet:
        stored = self._fleets.get(name)
        if stored is None:
            raise _ServiceError("ResourceNotFoundException", f"Fleet {name} not found.")
        return stored

    def _update_fleet(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Moves a fleet to another image: the one UpdateFleet change the simulation models
        (`_perform` refuses every other member, and a request without Name)."""
        image_name: str | None = params.get("ImageName")
        image_arn: str | None = params.get("ImageArn")
        if image_name is not None and image_arn is not None:
            raise _ServiceError(
                "InvalidParameterCombinationException",
                "ImageName and ImageArn cannot be used together.",
            )
        fleet = self._stored_fleet(params["Name"]).fleet
        name = fleet["Name"]
        if fleet["State"] in ("STARTING", "STOPPING"):
            # The API reference says "STARTING or STOPPED state, you can't update it", and
            # in the same breath that a STOPPED fleet can have any attribute updated: STOPPING
            # is what it means.
            raise _ServiceError(
                "ConcurrentModificationException", f"Fleet {name} is {fleet['State']}."
            )
        if image_name is None and image_arn is None:
            # Nothing to change. What AppStream answers is not documented: the fleet as it is.
            return {"Fleet": copy.deepcopy(fleet)}
        if fleet["FleetType"] == "ELASTIC":
            raise _ServiceError(
                "InvalidParameterCombinationException",
                f"Fleet {name} is an Elastic fleet: Elastic fleets use app blocks, not images.",
            )
        if image_arn is not None:
            image = self._stored_by_arn(image_arn).image
        else:
            assert image_name is not None  # one of them is given: see above
            image = self._stored(image_name).image
            if image["Visibility"] == "SHARED":
                # A consumer names an image shared with it by its ARN: by name, AppStream
                # looks for an image of this account (and says so).
                raise _ServiceError(
                    "ResourceNotFoundException",
                    f"The image {image_name} for account {self.account_id} does not exist.",
                )
        if image["State"] != "AVAILABLE":
            raise _ServiceError(
                "ResourceNotAvailableException", f"Image {image['Name']} is {image['State']}."
            )
        if image["Platform"] != fleet["Platform"]:
            if fleet["State"] != "STOPPED":
                # AWS documents that moving a fleet to an image of another operating system
                # needs the fleet stopped first; which error a running fleet gets is not
                # documented. IncompatibleImageException is our assumption.
                raise _ServiceError(
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

    def _describe_image_builders(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        builders = list(self._builders.values())
        page_size = params.get("MaxResults") or _PAGE_SIZE
        start = self._page_start(params.get("NextToken"), len(builders))
        result: dict[str, Any] = {
            "ImageBuilders": copy.deepcopy(builders[start : start + page_size])
        }
        if start + page_size < len(builders):
            result["NextToken"] = _page_token(start + page_size)
        return result

    def _describe_image_permissions(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        name = params["Name"]
        self._stored(name)
        shared = [
            {
                "sharedAccountId": account,
                "imagePermissions": {"allowFleet": True, "allowImageBuilder": True},
            }
            for account in sorted(self._shares.get(name, ()))
        ]
        return {"Name": name, "SharedImagePermissionsList": shared}

    def _delete_image(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        stored = self._stored(params["Name"])
        name, arn = stored.image["Name"], stored.image["Arn"]
        users = [
            user.fleet["Name"]
            for user in self._fleets.values()
            if user.fleet.get("ImageName") == name or user.fleet.get("ImageArn") == arn
        ]
        if users or self._shares.get(name):
            raise _ServiceError(
                "ResourceInUseException",
                f"Image {name} is in use by fleets {users} or shared; it cannot be deleted.",
            )
        if stored.build is not None or stored.image["State"] not in ("AVAILABLE", "FAILED"):
            raise _ServiceError(
                "ConcurrentModificationException", f"Image {name} is {stored.image['State']}."
            )
        image = copy.deepcopy(stored.image)
        image["State"] = "DELETING"
        del self._images[name]
        self.deleted.append(name)
        return {"Image": image}

    def _require_updatable(self, image: Mapping[str, Any]) -> None:
        name = image["Name"]
        if image["Visibility"] != "PRIVATE":
            raise _ServiceError(
                "OperationNotPermittedException", f"Image {name} is not owned by this account."
            )
        if image["Platform"] not in MANAGED_UPDATE_PLATFORMS:
            raise _ServiceError(
                "IncompatibleImageException",
                f"Managed image updates do not support {image['Platform']} images such as {name}.",
            )
        if image["State"] != "AVAILABLE":
            raise _ServiceError(
                "OperationNotPermittedException", f"Image {name} is {image['State']}."
            )

    def _start_update(
        self, source: _StoredImage, params: Mapping[str, Any], now: datetime
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
        # The Image shape requires at least one character where the request allows none.
        if params.get("newImageDisplayName"):
            image["DisplayName"] = params["newImageDisplayName"]
        if params.get("newImageDescription"):
            image["Description"] = params["newImageDescription"]
        script = self._scripts.pop(source.image["Name"], _DEFAULT_SCRIPT)
        self._images[name] = _StoredImage(
            image,
            dict(params.get("newImageTags") or {}),
            # Fresh from an update: nothing further to install until a script says so.
            updates_available=False,
            build=_Build(script, started=now),
        )
        self._max_concurrent_updates_seen = max(
            self._max_concurrent_updates_seen, len(self._building())
        )
        return image

    def _finish_due_builds(self, now: datetime) -> None:
        for stored in self._images.values():
            if stored.build is None or not stored.build.is_due(now):
                continue
            script, image = stored.build.script, stored.image
            if script.outcome == "AVAILABLE":
                image["State"] = "AVAILABLE"
                image["AppstreamAgentVersion"] = _newer_agent_version(
                    image["AppstreamAgentVersion"]
                )
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

    def _raise_injected_failure(self, call: _PendingCall, params: dict[str, Any]) -> None:
        if call.failure is not None:  # a re-send of a call a failure took: it fails again
            raise _ServiceError(call.failure.code, call.failure.message)
        for failure in self._failures:
            if failure.operation != call.model.name:
                continue
            if failure.when is not None and not failure.when(copy.deepcopy(params)):
                continue
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.remove(failure)
            if failure.whole_calls:
                call.failure = failure
            raise _ServiceError(failure.code, failure.message)

    def _violation(self, code: str, message: str) -> _ServiceError:
        """A request the real service would refuse: the caller has a bug, so say it loudly."""
        self._violations.append(message)
        return _ServiceError(code, message)

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

    def _stored(self, name: str) -> _StoredImage:
        stored = self._images.get(name)
        if stored is None:
            raise _ServiceError("ResourceNotFoundException", f"Image {name} not found.")
        return stored

    def _stored_by_arn(self, arn: str) -> _StoredImage:
        for stored in self._images.values():
            if stored.image["Arn"] == arn:
                return stored
        raise _ServiceError("ResourceNotFoundException", f"Resource {arn} not found.")

    def _building(self) -> list[str]:
        return [name for name, stored in self._images.items() if stored.build is not None]

    def _private_image_count(self) -> int:
        return sum(1 for s in self._images.values() if s.image["Visibility"] == "PRIVATE")

    def _image_arn(self, name: str, visibility: str, owner: str | None = None) -> str:
        # AWS's public base images belong to no account: their ARNs leave it empty.
        account = "" if visibility == "PUBLIC" else owner or self.account_id
        return f"arn:{self.partition}:appstream:{self.region}:{account}:image/{name}"


# --- botocore hooks ----------------------------------------------------------------------------


class _Activation:
    """The simulation that answers AppStream calls now: one at a time, for every thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.simulation: SimulatedAppStream | None = None


_activation = _Activation()


def _capture_params(
    params: Mapping[str, Any], model: OperationModel, context: dict[str, Any], **_: Any
) -> None:
    # before-send only sees the CBOR-serialized request. Every request botocore sends for one
    # call carries the call's context, so that holds the parameters, whichever thread sends.
    if _activation.simulation is not None:
        context[_CONTEXT_KEY] = _PendingCall(model, copy.deepcopy(dict(params)))


def _answer_request(request: Any, event_name: str, **_: Any) -> AWSResponse | None:
    # `request` is an AWSPreparedRequest; its `context` (the call's) is missing from the stubs.
    simulation = _activation.simulation
    if simulation is None:
        return None
    call = request.context.get(_CONTEXT_KEY)
    if call is None:
        raise SimulationError(f"{event_name}: the call began before the simulation was activated")
    wire.answering(simulation._pause_before_resend)
    attempt = request.context.get("retries", {}).get("attempt", 1)
    return simulation._answer(call, request.url, attempt)


def _call_done(**_: Any) -> None:
    wire.answering(None)


_HOOKS = (
    ("before-parameter-build.appstream", _capture_params),
    ("before-send.appstream", _answer_request),
    ("after-call.appstream", _call_done),
    ("after-call-error.appstream", _call_done),
)


# The default session created once the hooks existed, and the built-in handlers it was created
# with. Keeping it keeps botocore's cache of service models (a new session reads them from disk
# again, which costs more than a whole run); a handler registered since (moto's, when moto is
# imported later) needs a new one, or its clients would miss it and reach the real AWS.
_hooked_session: tuple[boto3.Session, tuple[Any, ...]] | None = None


def _use_a_hooked_default_session() -> None:
    """boto3 may have cached a default session from before the hooks existed: replace it."""
    global _hooked_session  # noqa: PLW0603
    handlers = tuple(botocore.handlers.BUILTIN_HANDLERS)
    if _hooked_session is None or _hooked_session[1] != handlers:
        _hooked_session = (boto3.Session(), handlers)
    boto3.DEFAULT_SESSION = _hooked_session[0]


def install_hooks() -> None:
    """Register the hooks for every botocore session created from now on. Idempotent."""
    for hook in _HOOKS:
        if hook not in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.append(hook)
    wire.install_paused_resends()


install_hooks()


# --- model checks and responses ----------------------------------------------------------------


def request_violations(operation: str, params: Mapping[str, Any]) -> list[str]:
    """What AppStream itself would refuse in these request parameters (pattern, length,
    enum: the constraints botocore leaves to the service), per the botocore model."""
    shape = _APPSTREAM_MODEL.operation_model(operation).input_shape
    if shape is None:
        raise ValueError(f"{operation} takes no parameters")
    return list(_constraint_violations(params, shape, ""))


def _constraint_violations(
    value: Any, shape: Shape, path: str, *, for_output: bool = False
) -> Iterator[str]:
    """What the service checks and botocore does not, worded as AWS words it."""
    yield from _own_violations(value, shape, path, for_output=for_output)
    for child, child_shape, child_path in _children(value, shape, path):
        yield from _constraint_violations(child, child_shape, child_path, for_output=for_output)


def _own_violations(value: Any, shape: Shape, path: str, *, for_output: bool) -> Iterator[str]:
    metadata = shape.metadata
    if shape.type_name in ("list", "map"):
        # Services return empty collections whatever the minimum says.
        if value or not for_output:
            yield from _size_violations(len(value), metadata, path, "length")
    elif shape.type_name == "string":
        yield from _size_violations(len(value), metadata, path, "length")
        # Returned values may be newer than the model (the architecture treats states and
        # reason codes as open sets), so only requests are held to the enum.
        if not for_output and "enum" in metadata and value not in metadata["enum"]:
            yield (
                f"Value {value!r} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: {metadata['enum']}"
            )
        if "pattern" in metadata and regex.search(metadata["pattern"], value) is None:
            yield (
                f"Value {value!r} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {metadata['pattern']}"
            )
    elif shape.type_name in ("integer", "long"):
        yield from _size_violations(value, metadata, path, "value")


def _children(value: Any, shape: Shape, path: str) -> Iterator[tuple[Any, Shape, str]]:
    if isinstance(shape, StructureShape):
        for name, member in value.items():
            if name in shape.members:  # unknown members are botocore's to reject
                yield member, shape.members[name], f"{path}.{name}" if path else name
    elif isinstance(shape, ListShape):
        for index, item in enumerate(value):
            yield item, shape.member, f"{path}[{index}]"
    elif isinstance(shape, MapShape):
        for key, item in value.items():
            yield key, shape.key, f"{path}.key"
            yield item, shape.value, f"{path}[{key!r}]"


def _size_violations(
    size: int, metadata: Mapping[str, Any], where: str, kind: str
) -> Iterator[str]:
    if "min" in metadata and size < metadata["min"]:
        yield (
            f"Value at '{where}' failed to satisfy constraint: "
            f"Member must have {kind} greater than or equal to {metadata['min']}"
        )
    if "max" in metadata and size > metadata["max"]:
        yield (
            f"Value at '{where}' failed to satisfy constraint: "
            f"Member must have {kind} less than or equal to {metadata['max']}"
        )


def _require_valid(value: Mapping[str, Any], shape: Shape, what: str) -> None:
    """Scripted state must be something AppStream could return."""
    problems = list(_constraint_violations(value, shape, what, for_output=True))
    try:
        validate_parameters(value, shape)
    except ParamValidationError as error:
        problems.append(str(error))
    if problems:
        raise ValueError(f"not a valid AppStream {what}: " + "; ".join(problems))


def _require_enum(value: str, shape_name: str, what: str) -> None:
    """Scripted values must be ones the model knows (`_require_valid` does not hold returned
    values to enums, which may be newer than the model)."""
    allowed = _APPSTREAM_MODEL.shape_for(shape_name).metadata.get("enum", [])
    if value not in allowed:
        raise SimulationError(f"{value!r} is no AppStream {what}: one of {allowed}")


def _require_valid_fleet(fleet: Mapping[str, Any]) -> None:
    """A scripted fleet must be one DescribeFleets could return."""
    try:
        _require_valid(fleet, _APPSTREAM_MODEL.shape_for("Fleet"), "fleet")
    except ValueError as error:
        raise SimulationError(str(error)) from error


def _require_valid_fleet_tags(tags: Mapping[str, str]) -> None:
    """Scripted tags must be ones TagResource could have set (no "aws:" keys, at most 50)."""
    if not tags:
        return
    try:
        _require_valid(dict(tags), _APPSTREAM_MODEL.shape_for("Tags"), "tags")
    except ValueError as error:
        raise SimulationError(str(error)) from error


def _require_valid_response(operation: OperationModel, result: Mapping[str, Any]) -> None:
    assert operation.output_shape is not None  # every operation we answer has output
    try:
        _require_valid(result, operation.output_shape, f"{operation.name} response")
    except ValueError as error:
        raise SimulationError(f"the simulation produced an invalid response: {error}") from error


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode("ascii")).decode("ascii")


def _newer_agent_version(version: str) -> str:
    """'1.1.1000' -> '1.1.1001': an update installs a newer agent."""
    match = re.fullmatch(r"(.*?)(\d+)", version)
    if match is None:
        return f"{version}.1"
    return f"{match[1]}{int(match[2]) + 1}"


def _utc_now() -> datetime:
    return datetime.now(UTC)
