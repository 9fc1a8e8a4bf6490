"""Lambda entry points: thin adapters from the workflow's JSON to the domain code."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from image_updater.errors import InvalidExecutionInput
from image_updater.observability import Handler, instrumented, logger

if TYPE_CHECKING:
    from image_updater.rollout.models import Rollout
    from image_updater.update.task import UpdateTask


class _NewImageRecord(Protocol):
    @property
    def root_image_name(self) -> str: ...
    @property
    def new_image_name(self) -> str: ...
    @property
    def execution_id(self) -> str: ...


_Record = TypeVar("_Record", bound=_NewImageRecord)


def read_step(event: Any, read: Callable[[Any], _Record]) -> _Record:
    """A step's event, `{"task": <record>, ...}` (its other keys are the step's parameters,
    e.g. `action`): the record, as `read` reads it; from here on the logs name its image, the
    new image and the execution."""
    if not isinstance(event, dict):
        raise InvalidExecutionInput(f"expected a JSON object, got {type(event).__name__}")
    record = read(event.get("task"))
    logger.append_keys(
        image=record.root_image_name,
        new_image=record.new_image_name,
        execution_id=record.execution_id,
    )
    return record


def task_step(step: Callable[[UpdateTask], UpdateTask]) -> Handler:
    """A handler for a step that takes one image's task and returns its next version."""
    # Imported here: the roll-out's handlers (rollout_step) never load the update's record.
    from image_updater.update.task import UpdateTask

    @instrumented
    def handler(event: Any, context: Any) -> dict[str, Any]:
        task = UpdateTask.from_event(event)
        logger.append_keys(image=task.root_image_name, execution_id=task.execution_id)
        result = step(task)
        logger.info(
            "Step done",
            extra={
                "action": result.action,
                "new_image": result.new_image_name,
                "state": result.image.state if result.image else None,
                "polls": result.polls,
                "outcome": result.outcome,
            },
        )
        return result.to_event()

    return handler


def rollout_step(step: Callable[[Rollout, dict[str, Any]], Rollout]) -> Handler:
    """A handler for a roll-out step: `{"task": <roll-out>, ...}` in, the next roll-out out
    (the other keys of the event are the step's parameters, e.g. `action`)."""
    # Imported here: the update's handlers (task_step) never load the roll-out's models.
    from image_updater.rollout.models import Rollout

    @instrumented
    def handler(event: Any, context: Any) -> dict[str, Any]:
        rollout = read_step(event, Rollout.from_event)
        result = step(rollout, event)
        logger.info(
            "Roll-out step done",
            extra={
                "outcome": result.outcome,
                "updated": [n.fleet for n in result.updated],
                "not_updated": [n.fleet for n in result.not_updated],
                "healthy": result.healthy,
            },
        )
        return result.to_event()

    return handler
