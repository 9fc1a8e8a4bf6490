"""Validates the execution input before any image is touched."""

from __future__ import annotations

from typing import Any

from image_updater import settings
from image_updater.domain.run_input import plan_run
from image_updater.observability import instrumented, logger


@instrumented
def handler(event: Any, context: Any) -> dict[str, Any]:
    logger.append_keys(execution_id=event.get("executionArn") if isinstance(event, dict) else None)
    raw = event.get("input") if isinstance(event, dict) else event
    plan = plan_run(raw, settings.configured_images())
    logger.info("Run planned", extra=plan)
    return plan
