"""AppStream's side of the HTTP exchange, for the simulation (`rehearsal.appstream`).

The simulation answers each request botocore is about to send (`before-send`) with a real
HTTP response in the wire protocol the client speaks: AppStream's model offers
`smithy-rpc-v2-cbor` and `json`, and botocore picks by its own priority (botocore 1.44 speaks
`json`). The body holds the result or, for an error, its `__type` and message, with a 4xx or
5xx status. botocore then parses the answer, raises modeled errors and applies its retry
policy exactly as it does with AWS's answers.

botocore pauses before each re-send. `install_paused_resends()` gives that pause to the active
simulation (which passes it on its own clock, or not at all), so tests never really sleep.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import botocore.endpoint  # type: ignore[import-untyped, unused-ignore]
from botocore.awsrequest import (  # type: ignore[import-untyped, unused-ignore]
    AWSResponse,
    HTTPHeaders,
)
from botocore.model import OperationModel  # type: ignore[import-untyped, unused-ignore]
from botocore.serialize import (  # type: ignore[import-untyped, unused-ignore]
    JSONSerializer,
    RpcV2CBORSerializer,
)

# botocore's own encoders for the protocols; they encode a request's members from their
# shapes, which is what a response body is too.
# (Their encoding methods are private: Any, so the stubs do not hide them.)
_CBOR: Any = RpcV2CBORSerializer()
_JSON: Any = JSONSerializer()
_CONTENT_TYPES = {"json": "application/x-amz-json-1.1", "smithy-rpc-v2-cbor": "application/cbor"}
# Where the service's Smithy shapes live: `__type` is an absolute shape id.
_SHAPE_NAMESPACE = "com.amazonaws.appstream"
# Answers that are the service's failure rather than the caller's. Every other error is a 400,
# throttling included (botocore tells throttling by its code, not its status).
SERVER_ERRORS: Mapping[str, int] = {
    "InternalFailure": 500,
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
}


class _Body:
    """The `raw` of an AWSResponse: botocore reads its content through `stream()`."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Any:
        yield self._content


def protocol(operation: OperationModel) -> str:
    """The wire protocol the client sends `operation` in (and expects its answer in)."""
    resolved = str(operation.service_model.resolved_protocol)
    if resolved not in _CONTENT_TYPES:
        raise AssertionError(f"the simulation does not speak {resolved!r}")
    return resolved


def success(url: str, operation: OperationModel, result: Mapping[str, Any]) -> AWSResponse:
    wire = protocol(operation)
    if wire == "json":
        encoded: dict[str, Any] = {}
        _JSON._serialize(encoded, dict(result), operation.output_shape)
        body = json.dumps(encoded).encode()
    else:
        cbor = bytearray()
        _CBOR._serialize_data_item(cbor, dict(result), operation.output_shape)
        body = bytes(cbor)
    return _response(url, wire, 200, body)


def error(url: str, operation: OperationModel, code: str, message: str) -> AWSResponse:
    """An error as both protocols carry it: its shape id in `__type`, and its `Message` (the
    member every AppStream error shape has)."""
    wire = protocol(operation)
    fields = {"__type": f"{_SHAPE_NAMESPACE}#{code}", "Message": message}
    if wire == "json":
        body = json.dumps(fields).encode()
    else:
        cbor = bytearray(_CBOR._get_initial_byte(_CBOR.MAP_MAJOR_TYPE, len(fields)))
        for key, value in fields.items():
            _CBOR._serialize_type_string(cbor, key, None, None)
            _CBOR._serialize_type_string(cbor, value, None, None)
        body = bytes(cbor)
    return _response(url, wire, SERVER_ERRORS.get(code, 400), body)


def _response(url: str, wire: str, status: int, body: bytes) -> AWSResponse:
    headers = HTTPHeaders()
    headers["x-amzn-requestid"] = str(uuid.uuid4())
    if wire == "smithy-rpc-v2-cbor":
        headers["smithy-protocol"] = "rpc-v2-cbor"
    headers["Content-Type"] = _CONTENT_TYPES[wire]
    headers["Content-Length"] = str(len(body))
    return AWSResponse(url, status, headers, _Body(body))


# --- botocore's pause between re-sends ---------------------------------------------------------

_answered = threading.local()


def answering(pause: Callable[[float], None] | None) -> None:
    """This thread's next botocore pause follows an answer of the simulation: `pause` takes
    it (None: the thread is done with the simulation's call)."""
    _answered.pause = pause


class _EndpointTime(ModuleType):
    """botocore.endpoint's `time`: the real module, except that the pause before re-sending
    a request the simulation answered goes to the simulation."""

    def __init__(self) -> None:
        super().__init__("time")

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        pause = getattr(_answered, "pause", None)
        if pause is None:
            time.sleep(seconds)
        else:
            pause(seconds)


def install_paused_resends() -> None:
    """Idempotent. botocore.endpoint uses `time` for nothing but this pause."""
    endpoint: Any = botocore.endpoint
    if not isinstance(endpoint.time, _EndpointTime):
        endpoint.time = _EndpointTime()
