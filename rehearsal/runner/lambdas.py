"""The workflow's Lambda functions, run in-process: the real handlers, one at a time, as if each
ran in its own sandbox; and a run driven step by step with them (`StepByStepRun`)."""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Self
from unittest import mock

from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner.clock import image_of
from rehearsal.runner.execution import Invocation
from rehearsal.runner.live import ACCOUNT, REGION, Live


class StepByStepRun:
    """Another execution of the same deployment (say, one started by hand), driven one step
    at a time with the real handlers while a run of the workflow waits: how the tests and
    the rehearsal make runs overlap at an exact point. Call its steps from an
    `on_invocation` listener, or inside `WorkflowRunner.deployed`."""

    def __init__(self, root: str, started_at: datetime, name: str = "by-hand") -> None:
        self.task: dict[str, Any] = {
            "rootImageName": root,
            "executionId": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Updater:{name}",
            "startedAt": started_at.isoformat().replace("+00:00", "Z"),
            "dryRun": False,
        }

    @classmethod
    def minutes_after(cls, invocation: Invocation, minutes: int) -> Self:
        """A run started `minutes` after the run whose step `invocation` was."""
        started = datetime.fromisoformat(invocation.event["startedAt"].replace("Z", "+00:00"))
        return cls(invocation.event["rootImageName"], started + timedelta(minutes=minutes))

    def step(self, name: str) -> dict[str, Any]:
        """Run the `check`, `create` or `poll` step on this run's task; returns the new task."""
        handler = handler_for(f"image_updater.handlers.{name}.handler")
        self.task = handler(self.task, LambdaContext(f"by-hand-{name}"))
        return self.task


class LambdaContext:
    """What Powertools reads from a Lambda context object."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = f"{name}-request"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "rehearsal"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@cache
def handler_for(spec: str) -> Callable[[Any, Any], Any]:
    module, _, attribute = spec.rpartition(".")
    handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module), attribute)
    return handler


_SANDBOX = threading.Lock()
# The recorder of the handler this thread is running, if any: its AWS requests are counted.
_IN_HANDLER = threading.local()


def quiet(show_logs: bool) -> None:
    """The handlers' JSON logs and moto's interpreter traces are noise in a rehearsal."""
    from image_updater.observability import logger

    logger.setLevel("INFO" if show_logs else "WARNING")
    logging.getLogger("moto").setLevel(logging.INFO if show_logs else logging.CRITICAL)


@contextmanager
def in_process_lambdas(
    handlers: Mapping[str, str], live: Live, sim: SimulatedAppStream
) -> Iterator[None]:
    """moto would start Docker to run a function; call the real handler instead."""
    from moto.awslambda.models import LambdaFunction

    from image_updater.observability import metrics

    def invoke(
        function: LambdaFunction, body: str, request_headers: Any, response_headers: Any
    ) -> bytes:
        name = function.function_name
        event = json.loads(body) if body else {}
        image = image_of(event)
        live.clock.use_lane(image)
        if image is None:
            live.clock.join_lanes()
        # One invocation at a time, as if each ran in its own Lambda sandbox: the
        # handlers' module state (logger keys, cached clients) is per process.
        with _SANDBOX:
            return _invoke_handler(name, event, response_headers)

    def _invoke_handler(name: str, event: Any, response_headers: Any) -> bytes:
        recorder, clock = live.run, live.clock
        calls_before = len(sim.calls)
        _IN_HANDLER.recorder = recorder
        try:
            result, error = handler_for(handlers[name])(event, LambdaContext(name)), None
            payload = json.dumps(result)
        except Exception as exception:  # reported to Step Functions as Lambda does
            error = type(exception).__name__
            result = {"errorType": error, "errorMessage": str(exception)}
            payload = json.dumps(result)
            response_headers["x-amz-function-error"] = "Unhandled"
        finally:
            _IN_HANDLER.recorder = None
            # On Lambda each invocation flushes its metrics; with publishing off here
            # (POWERTOOLS_METRICS_DISABLED), Powertools would keep them for the next one.
            metrics.clear_metrics()
        invocation = Invocation(
            name, handlers[name], event, result, error, clock.now(), len(sim.calls) - calls_before
        )
        with recorder.lock:
            recorder.invocations.append(invocation)
            if recorder.on_invocation:
                # A listener's own error is the rehearsal's, not the function's: raised to
                # whoever started the run once it has ended, never handed to Step Functions.
                try:
                    recorder.on_invocation(invocation, clock.now() - clock.start)
                except Exception as error:
                    recorder.listener_errors.append(error)
        return payload.encode()

    from botocore.client import BaseClient

    original_call = BaseClient._make_api_call  # type: ignore[attr-defined]

    def counted_call(client: Any, operation: str, params: Any) -> Any:
        counting = getattr(_IN_HANDLER, "recorder", None)
        service = client.meta.service_model.service_name
        if counting is not None and service != "appstream":  # AppStream's: sim.calls
            with counting.lock:
                counting.service_calls[f"{service}.{operation}"] += 1
        return original_call(client, operation, params)

    with (
        mock.patch.object(LambdaFunction, "invoke", invoke),
        mock.patch.object(BaseClient, "_make_api_call", counted_call),
    ):
        yield
