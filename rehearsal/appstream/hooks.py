"""How the simulation gets AppStream's requests: botocore's event hooks, and the one
simulation that answers now (`SimulatedAppStream.activate`).

Only sessions created after this module is imported carry the hooks; activating drops boto3's
cached default session so that `boto3.client()` builds a new one. A client built from an older
session is not intercepted and would call AWS.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any, Protocol

import boto3  # type: ignore[import-untyped, unused-ignore]
import botocore.handlers  # type: ignore[import-untyped, unused-ignore]
from botocore.awsrequest import AWSResponse  # type: ignore[import-untyped, unused-ignore]
from botocore.model import OperationModel  # type: ignore[import-untyped, unused-ignore]

from rehearsal.appstream import wire
from rehearsal.appstream.state import PendingCall, SimulationError

_CONTEXT_KEY = "rehearsal.appstream.params"


class Answering(Protocol):
    """What answers the requests (a `SimulatedAppStream`, once activated)."""

    def _answer(self, call: PendingCall, url: str, attempt: int) -> AWSResponse: ...

    def _pause_before_resend(self, seconds: float) -> None: ...


class _Activation:
    """The simulation that answers AppStream calls now: one at a time, for every thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.simulation: Answering | None = None


activation = _Activation()


def _capture_params(
    params: Mapping[str, Any], model: OperationModel, context: dict[str, Any], **_: Any
) -> None:
    # before-send only sees the CBOR-serialized request. Every request botocore sends for one
    # call carries the call's context, so that holds the parameters, whichever thread sends.
    if activation.simulation is not None:
        context[_CONTEXT_KEY] = PendingCall(model, copy.deepcopy(dict(params)))


def _answer_request(request: Any, event_name: str, **_: Any) -> AWSResponse | None:
    # `request` is an AWSPreparedRequest; its `context` (the call's) is missing from the stubs.
    simulation = activation.simulation
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


def use_a_hooked_default_session() -> None:
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
