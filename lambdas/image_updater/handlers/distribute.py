"""One Region's part of a new image's distribution (infra/workflow/distribution.py): the
event's `action` says which step: `copy` (find our copy or make one), `check` (the copy's
state; re-tagged once AVAILABLE), `share` (with the Region's accounts). And, before the run
starts them (infra/workflow/distribute_each.py), `record`: which images it distributes, each
claimed in the ledger, with the distributions earlier runs left owed (distribution/resume.py)."""

from __future__ import annotations

from typing import Any

from image_updater import clock
from image_updater.distribution import resume, service
from image_updater.distribution.ledger import DistributionLedger
from image_updater.distribution.models import RegionDistribution
from image_updater.distribution.owed import GONE, RESUMED_FROM
from image_updater.distribution.settings import DistributeSettings
from image_updater.errors import InvalidExecutionInput
from image_updater.handlers import read_step
from image_updater.integrations.appstream.regional import RegionalImages
from image_updater.integrations.executions import Executions
from image_updater.observability import instrumented, logger

COPY, CHECK, SHARE, RECORD = "copy", "check", "share", "record"


def distribute(item: RegionDistribution, action: str) -> RegionDistribution:
    home = RegionalImages()
    if action == SHARE:
        return service.share_in_region(item, RegionalImages(item.region))
    if item.region is None:
        raise InvalidExecutionInput(f"{action}: the hub's own Region has nothing to copy")
    destination = RegionalImages(item.region)
    if action == COPY:
        return service.copy_to_region(item, home, destination)
    if action == CHECK:
        tags = DistributeSettings.from_env().new_image_tags
        return service.check_copy(item, home, destination, tags)
    raise InvalidExecutionInput(f"unknown distribution action {action!r}")


def record(event: dict[str, Any]) -> dict[str, Any]:
    results, run = event.get("task"), event.get("executionArn")
    if not isinstance(results, list) or not isinstance(run, str):
        raise InvalidExecutionInput("record: expected {task: [results], executionArn: ...}")
    if event.get("dryRun") is not False:
        # A dry run looks but writes nothing, and resumes nothing: its images go on as they are.
        return {"items": results}
    logger.append_keys(execution_id=run)
    items = resume.plan(
        results,
        run,
        child_machine=str(event["distributionMachine"]),
        ledger=DistributionLedger(),
        executions=Executions(),
        hub=RegionalImages(),
        now=clock.utc_now(),
    )
    for item in (i for i in items if RESUMED_FROM in i):
        extra = {
            "new_image": item["newImageName"],
            "from": item[RESUMED_FROM],
            GONE: item.get(GONE),
        }
        logger.info("Distribution resumed", extra=extra)
    return {"items": items}


@instrumented
def handler(event: Any, context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("action") == RECORD:
        return record(event)
    item = read_step(event, RegionDistribution.from_event)
    logger.append_keys(region=item.region)
    result = distribute(item, str(event.get("action")))
    logger.info(
        "Distribution step done",
        extra={
            "action": event.get("action"),
            "state": result.state,
            "reason": result.reason,
            "shared": [s.account_id for s in result.shared if s.shared],
            "not_shared": [s.account_id for s in result.shared if not s.shared],
        },
    )
    return result.to_event()
