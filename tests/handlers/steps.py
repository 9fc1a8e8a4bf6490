"""Given- and When-steps shared by the handler tests: an update run through the real
handlers, and the event the state machine sends the report step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from image_updater.handlers import check, create, poll
from rehearsal.appstream import SimulatedAppStream
from tests.handlers.conftest import EXECUTION_ARN, ROOT, START, LambdaContext, ManualClock, new_task

# How AppStream fails an update for want of capacity: the image FAILED, with its reason and
# one image error.
NO_CAPACITY: dict[str, Any] = {
    "polls": 1,
    "outcome": "FAILED",
    "reason_code": "IMAGE_BUILDER_NOT_AVAILABLE",
    "reason_message": "No capacity for the image builder.",
    "errors": [("IMAGE_BUILDER_NOT_AVAILABLE", "Insufficient capacity")],
}


def old_root(sim: SimulatedAppStream) -> None:
    """Given the configured root image, created 90 days before the run."""
    sim.add_image(ROOT, created_time=START - timedelta(days=90))


def updated_image(sim: SimulatedAppStream, **script: Any) -> None:
    """Given the root image (90 days old) and how AppStream will treat its update."""
    old_root(sim)
    sim.script_update(ROOT, **script)


def run_update(lambda_context: LambdaContext, clock: ManualClock) -> dict[str, Any]:
    """check -> create -> (wait -> poll)* until the image settles, through the real handlers."""
    task = create.handler(check.handler(new_task(), lambda_context), lambda_context)
    while task["outcome"] is None:
        clock.advance(timedelta(minutes=45))
        task = poll.handler(task, lambda_context)
    return task


def report_event(task: dict[str, Any], execution_arn: str = EXECUTION_ARN) -> dict[str, Any]:
    """What the state machine sends the report step."""
    return {"task": task, "executionArn": execution_arn}


def raised_by(
    handler: Callable[[Any, LambdaContext], Any], event: Any, lambda_context: LambdaContext
) -> pytest.ExceptionInfo[Exception]:
    """When-step: a handler that must fail on `event`; what it raised."""
    with pytest.raises(Exception) as raised:
        handler(event, lambda_context)
    return raised
