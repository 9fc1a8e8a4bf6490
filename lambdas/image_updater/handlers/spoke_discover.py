"""A spoke's first step: the newest image of each lineage that the hub shared with (or copied
to) this account and this spoke has not rolled out yet, claimed in the ledger so that no other
run starts it again."""

from __future__ import annotations

from typing import Any

from image_updater import clock
from image_updater.errors import InvalidExecutionInput
from image_updater.observability import instrumented, logger
from image_updater.settings import SpokeSettings
from image_updater.spoke.claims import SpokeClaims
from image_updater.spoke.discover import new_images
from image_updater.spoke.images import HubImages


@instrumented
def handler(event: Any, context: Any) -> dict[str, Any]:
    if not isinstance(event, dict) or not isinstance(event.get("executionId"), str):
        raise InvalidExecutionInput('expected {"executionId": <the execution\'s ARN>}')
    execution_id: str = event["executionId"]
    settings = SpokeSettings.from_env()
    logger.append_keys(execution_id=execution_id)
    results = new_images(
        settings.configured_images,
        HubImages(settings.hub_account_id),
        SpokeClaims(),
        execution_id=execution_id,
        now=clock.utc_now(),
    )
    logger.info("New images found", extra={"images": [r["newImageName"] for r in results]})
    return {"results": results}
