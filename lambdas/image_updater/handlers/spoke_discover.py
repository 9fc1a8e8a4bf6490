"""A spoke's first step: the newest image of each lineage that the hub shared with (or copied
to) this account and this spoke has not rolled out yet, claimed in the ledger so that no other
run starts it again. The run's input is the hub's (what the schedule and run-now send): its
`images` narrow the lineages, and a dry run only says which images would be rolled out
(nothing is claimed, no fleet changes, no e-mail)."""

from __future__ import annotations

from typing import Any

from image_updater import clock
from image_updater.domain.run_input import plan_run
from image_updater.errors import InvalidExecutionInput
from image_updater.observability import instrumented, logger
from image_updater.spoke.claims import SpokeClaims
from image_updater.spoke.discover import new_images
from image_updater.spoke.images import HubImages
from image_updater.spoke.settings import SpokeSettings


@instrumented
def handler(event: Any, context: Any) -> dict[str, Any]:
    if not isinstance(event, dict) or not isinstance(event.get("executionId"), str):
        raise InvalidExecutionInput('expected {"executionId": <the execution\'s ARN>}')
    execution_id: str = event["executionId"]
    settings = SpokeSettings.from_env()
    logger.append_keys(execution_id=execution_id)
    run = plan_run(event.get("input"), settings.configured_images)
    images = HubImages(settings.hub_account_id)
    if run["dryRun"]:
        newest = images.newest(tuple(run["images"]))
        return {"results": [], "dryRun": True, "newest": {r: i.name for r, i in newest.items()}}
    results = new_images(
        run["images"],
        images,
        SpokeClaims(),
        execution_id=execution_id,
        now=clock.utc_now(),
    )
    logger.info("New images found", extra={"images": [r["newImageName"] for r in results]})
    return {"results": results}
