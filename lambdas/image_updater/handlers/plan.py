"""Validates the execution input before any image is touched."""

from __future__ import annotations

from typing import Any

from image_updater.domain.run_input import plan_run
from image_updater.observability import instrumented, logger
from image_updater.update.settings import PlanSettings


@instrumented
def handler(event: Any, context: Any) -> dict[str, Any]:
    # The event is the execution input exactly as given, whatever its type or size: the
    # workflow passes it unwrapped so that no state ever holds more than the input itself.
    plan = plan_run(event, PlanSettings.from_env().configured_images)
    logger.info("Run planned", extra=plan)
    return plan
