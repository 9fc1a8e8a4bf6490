"""What the events of one image's update say (`events.py` publishes them): started, then
succeeded, failed, timed out or unconfirmed, each built from the task the step holds. Keys as
every event's (see `events.py`): camelCase, always present (null when unknown)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from image_updater.errors import shortened
from image_updater.events import (
    REASON_MAX,
    STARTED,
    UPDATE_FAILED,
    UPDATE_SUCCEEDED,
    UPDATE_TIMED_OUT,
    UPDATE_UNCONFIRMED,
)
from image_updater.models import CHECK_FAILED, FAILED, SUCCEEDED, TIMED_OUT, ImageSummary
from image_updater.update.task import UpdateTask

_OUTCOME_TYPES = {
    SUCCEEDED: UPDATE_SUCCEEDED,
    FAILED: UPDATE_FAILED,
    TIMED_OUT: UPDATE_TIMED_OUT,
    CHECK_FAILED: UPDATE_UNCONFIRMED,
}


def _image_detail(
    task: UpdateTask,
    outcome: str,
    execution_arn: str,
    *,
    new_image_name: str | None,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "image": task.root_image_name,
        "lineageRoot": task.root_image_name,
        "newImageName": new_image_name,
        "newImageArn": task.image.arn if task.image else None,
        "sourceImageName": task.source.name if task.source else None,
        "executionArn": execution_arn,
        "outcome": outcome,
        "reason": shortened(reason, REASON_MAX) if reason else None,
    }


def _built_image(task: UpdateTask) -> str | None:
    """The new image's name once it exists (before that, it names nothing anyone can find)."""
    return task.new_image_name if task.image else None


def update_started(task: UpdateTask) -> dict[str, Any]:
    """The create step's result when AppStream accepted the update this run asked for."""
    return _image_detail(task, STARTED, task.execution_id, new_image_name=_built_image(task))


def update_succeeded(task: UpdateTask, execution_arn: str) -> dict[str, Any]:
    return _image_detail(task, SUCCEEDED, execution_arn, new_image_name=_built_image(task))


def update_failed(
    task: UpdateTask, execution_arn: str, error: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The build failed (AppStream's reason), or a step did (the error a Catch rule kept)."""
    return _image_detail(
        task,
        FAILED,
        execution_arn,
        new_image_name=_built_image(task),
        reason=_error_text(error) or _image_failure(task.image),
    )


def update_timed_out(task: UpdateTask, execution_arn: str, max_update_hours: int) -> dict[str, Any]:
    state = task.image.state if task.image else "UNKNOWN"
    return _image_detail(
        task,
        TIMED_OUT,
        execution_arn,
        new_image_name=_built_image(task),
        reason=(
            f"Still {state} after {max_update_hours} h (maxUpdateHours); AppStream may still "
            "finish it, and a later run reports it."
        ),
    )


def update_unconfirmed(
    task: UpdateTask, execution_arn: str, error: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The run lost track of the update (or of its start): it may well be fine. The name is
    the image being built, or the one the start may have created."""
    return _image_detail(
        task,
        CHECK_FAILED,
        execution_arn,
        new_image_name=task.new_image_name,
        reason=_error_text(error) or "The run could not confirm the update.",
    )


def outcome_event(
    task: UpdateTask,
    outcome: str,
    execution_arn: str,
    *,
    error: Mapping[str, Any] | None,
    max_update_hours: int,
) -> tuple[str, dict[str, Any]] | None:
    """The event for an image's reported outcome (the e-mail's), if it has one: none for a
    dry run, for "no update", or for anything else that is not an update's end."""
    detail_type = _OUTCOME_TYPES.get(outcome)
    if task.dry_run or detail_type is None:
        return None
    if outcome == SUCCEEDED:
        detail = update_succeeded(task, execution_arn)
    elif outcome == TIMED_OUT:
        detail = update_timed_out(task, execution_arn, max_update_hours)
    elif outcome == CHECK_FAILED:
        detail = update_unconfirmed(task, execution_arn, error)
    else:
        detail = update_failed(task, execution_arn, error)
    return detail_type, detail


def _error_text(error: Mapping[str, Any] | None) -> str | None:
    """ "Name: message" from what a Catch rule kept ({"Error", "Cause"}; a Lambda's Cause is
    JSON carrying its errorMessage)."""
    if not error:
        return None
    name, cause = error.get("Error"), error.get("Cause")
    if isinstance(cause, str) and cause.startswith("{"):
        with contextlib.suppress(ValueError, AttributeError):
            cause = json.loads(cause).get("errorMessage", cause)
    return ": ".join(str(part) for part in (name, cause) if part) or None


def _image_failure(image: ImageSummary | None) -> str | None:
    if image is None:
        return None
    parts = [": ".join(filter(None, (image.reason_code, image.reason_message)))]
    parts += [f"{e.code}: {e.message}" for e in image.errors[:1]]
    return "; ".join(p for p in parts if p) or f"The image is {image.state}."
