"""Lambda entry points: thin adapters from the workflow's JSON to the domain code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from image_updater.models import UpdateTask
from image_updater.observability import Handler, instrumented, logger


def task_step(step: Callable[[UpdateTask], UpdateTask]) -> Handler:
    """A handler for a step that takes one image's task and returns its next version."""

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
