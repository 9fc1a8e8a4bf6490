"""The simulation as one AppStream account: its parts put together, activated, answering."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from botocore.awsrequest import AWSResponse  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    EndpointConnectionError,
    ReadTimeoutError,
)

from rehearsal.appstream import wire
from rehearsal.appstream.builders import Builders
from rehearsal.appstream.constraints import constraint_violations, require_valid_response
from rehearsal.appstream.copies import Copies, finish_due_copies
from rehearsal.appstream.failures import LOST_RESPONSE, NETWORK_FAILURE, Failures
from rehearsal.appstream.fleets import Fleets
from rehearsal.appstream.hooks import activation, install_hooks, use_a_hooked_default_session
from rehearsal.appstream.images import Images
from rehearsal.appstream.permissions import Permissions
from rehearsal.appstream.regions import Regions
from rehearsal.appstream.shared import SharedWithThisAccount
from rehearsal.appstream.state import Call, Operation, PendingCall, ServiceError, SimulationError
from rehearsal.appstream.tags import Tags
from rehearsal.appstream.updates import Updates, finish_due_builds

# Members the service requires although the model marks none required (every member of
# UpdateFleetRequest is optional in it, so botocore lets a request without them through).
_REQUIRED_BY_SERVICE: Mapping[str, tuple[str, ...]] = {"UpdateFleet": ("Name",)}

# The members the simulation acts on, for operations whose other members it does not model:
# ignoring one would let a test pass for a request whose effect nobody simulated.
_MODELED_MEMBERS: Mapping[str, frozenset[str]] = {
    "UpdateFleet": frozenset({"Name", "ImageName", "ImageArn"}),
}


class SimulatedAppStream(
    SharedWithThisAccount,
    Images,
    Updates,
    Fleets,
    Tags,
    Builders,
    Permissions,
    Regions,
    Copies,
    Failures,
):
    """AppStream images, tags and managed updates, scripted by tests and driven by real clients;
    one account, in this Region and (`in_region`) any other; images other accounts share with it."""

    def _answered_operations(self) -> dict[str, Operation]:
        return {
            "DescribeImages": self._describe_images,
            "ListTagsForResource": self._list_tags_for_resource,
            "CreateUpdatedImage": self._create_updated_image,
            "DescribeFleets": self._describe_fleets,
            "DescribeImageBuilders": self._describe_image_builders,
            "DescribeImagePermissions": self._describe_image_permissions,
            "UpdateImagePermissions": self._update_image_permissions,
            "DeleteImagePermissions": self._delete_image_permissions,
            "CopyImage": self._copy_image,
            "DeleteImage": self._delete_image,
            "UpdateFleet": self._update_fleet,
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
        }

    # --- activation --------------------------------------------------------------------------

    def activate(self) -> None:
        """Answer AppStream calls from now on, until `deactivate()`."""
        with activation.lock:
            if activation.simulation not in (None, self):
                raise SimulationError("another SimulatedAppStream is active")
            install_hooks()
            activation.simulation = self
            use_a_hooked_default_session()

    def deactivate(self) -> None:
        with activation.lock:
            if activation.simulation is self:
                activation.simulation = None

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
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    # --- the service -------------------------------------------------------------------------

    def _answer(self, call: PendingCall, url: str, attempt: int) -> AWSResponse:
        """One request of `call`, answered as AppStream's HTTP response; `attempt` counts the
        SDK's sends of the call. A network failure is raised, as sending it would. The URL's
        Region picks the Region's state (regions.py)."""
        elsewhere = self._answering_region(url)
        if elsewhere is not None:
            return elsewhere._answer(call, url, attempt)
        operation = call.model
        request = copy.deepcopy(call.params)  # the record's own copy
        with self._lock:
            now = self._clock()
            finish_due_builds(self._images, now)
            finish_due_copies(self._images, now)
            try:
                result = self._perform(call, request, now)
            except ServiceError as error:
                self._calls.append(Call(operation.name, request, error.code, now, attempt))
                if error.code == NETWORK_FAILURE:
                    raise EndpointConnectionError(endpoint_url=url) from None
                return wire.error(url, operation, error.code, error.message)
            require_valid_response(operation, result)
            if self._lost_responses.get(operation.name):
                # It happened, but the answer never reaches the caller (lose_responses).
                self._lost_responses[operation.name] -= 1
                self._calls.append(Call(operation.name, request, LOST_RESPONSE, now, attempt))
                raise ReadTimeoutError(endpoint_url=url)
            self._calls.append(Call(operation.name, request, None, now, attempt))
            return wire.success(url, operation, result)

    def _pause_before_resend(self, seconds: float) -> None:
        with self._lock:
            self._sdk_pauses.append(seconds)
        if self._pause is not None:
            self._pause(seconds)

    def _perform(self, call: PendingCall, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        operation = call.model
        perform = self._operations.get(operation.name)
        if perform is None:
            raise self._violation(
                "UnsupportedOperation",
                f"{operation.name}: the simulation does not implement this operation",
            )
        assert operation.input_shape is not None  # every operation we answer takes input
        problems = list(constraint_violations(params, operation.input_shape, ""))
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
