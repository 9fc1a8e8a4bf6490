"""One Region's part of a new image's distribution (infra/workflow/distribution.py): the
event's `action` says which step: `copy` (find our copy or make one), `check` (the copy's
state; re-tagged once AVAILABLE), `share` (with the Region's accounts)."""

from __future__ import annotations

from typing import Any

from image_updater import settings
from image_updater.distribution import service
from image_updater.distribution.models import RegionDistribution
from image_updater.errors import InvalidExecutionInput
from image_updater.handlers import read_step
from image_updater.integrations.appstream.regional import RegionalImages
from image_updater.observability import instrumented, logger

COPY, CHECK, SHARE = "copy", "check", "share"


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
        tags = settings.DistributeSettings.from_env().new_image_tags
        return service.check_copy(item, home, destination, tags)
    raise InvalidExecutionInput(f"unknown distribution action {action!r}")


@instrumented
def handler(event: Any, context: Any) -> dict[str, Any]:
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
