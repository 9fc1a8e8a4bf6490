"""status --json: the documented shape for scripts (README, "Status").

Keys are only ever added within a `version`; a key removed or renamed makes a new version.
Times are ISO 8601 UTC with a Z; absent facts are null.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tools.run_now.status_report import ImageFacts, Reason, Status

JSON_VERSION = 1


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _image_json(image: ImageFacts | None, now: datetime) -> dict[str, Any] | None:
    if image is None:
        return None
    return {
        "name": image.name,
        "state": image.state,
        "createdTime": _iso(image.created),
        "publicBaseImageReleasedDate": _iso(image.base_image_released),
        "patchedAt": _iso(image.patched_at),
        "patchAgeDays": image.patch_age_days(now),
        "appstreamAgentVersion": image.agent_version,
        "latestAppstreamAgentVersion": image.latest_agent,
        "stateChangeReason": image.reason,
    }


def as_json(status: Status, found: Sequence[Reason]) -> dict[str, Any]:
    """The documented shape (README, "Status"); `version` changes when a key goes."""
    schedule = status.schedule
    return {
        "version": JSON_VERSION,
        "stack": status.stack,
        "region": status.region,
        "checkedAt": _iso(status.now),
        "needsAttention": bool(found),
        "reasons": [{"code": r.code, "image": r.image, "message": r.message} for r in found],
        "thresholds": {
            "maxPatchAgeDays": status.max_patch_age_days,
            "stuckAfterHours": status.stuck_after_hours,
        },
        "images": [
            {
                "root": image.root,
                "found": image.missing is None,
                "rootExists": image.root_found,
                "newestAvailable": _image_json(image.newest_available, status.now),
                "updateInProgress": _image_json(image.building, status.now),
                "failedUpdate": _image_json(image.failed, status.now),
                "reportsOwed": list(image.reports_owed),
                "fleets": [
                    {
                        "name": f.name,
                        "stage": f.stage,
                        "state": f.state,
                        "image": f.image,
                        "onNewest": f.on_newest,
                        "behind": f.of_lineage and not f.on_newest,
                    }
                    for f in image.fleets
                ],
                "approvalsWaiting": [
                    {
                        "executionArn": a.execution_arn,
                        "newImageName": a.new_image_name,
                        "deadline": _iso(a.deadline),
                        "command": a.command,
                    }
                    for a in image.approvals
                ],
            }
            for image in status.images
        ],
        "schedule": None
        if schedule is None
        else {
            "name": schedule.name,
            "state": schedule.state,
            "expression": schedule.expression,
            "timezone": schedule.timezone,
            "nextRun": _iso(schedule.next_run),
            "failedScheduledRuns": schedule.failed_scheduled_runs,
            "breakerOpen": schedule.breaker_open,
        },
        "quotas": [
            {
                "name": q.name,
                "quotaCode": q.code,
                "limit": q.limit,
                "used": q.used,
                "headroom": q.headroom,
                "source": "service-quotas" if q.from_service_quotas else "documented-default",
            }
            for q in status.quotas
        ],
    }
