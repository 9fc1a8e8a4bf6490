"""The updater's own EventBridge events, on the account's default bus.

Other tools (chat, ticketing, a fleet roll-out of their own) react to these; the e-mail stays
the primary channel. So `publish` never raises and never holds a step up for long: a failed
event is a warning in the logs and a count of the `EventsNotPublished` metric.

Every detail is built by one pure function per kind of event (below; an update's in
`update/events.py`), from what the step already knows; its keys are camelCase, like the
workflow's, and always present (null when unknown), so rules can match on them. Delivery is
at least once: a step retried after a timeout may publish its event again (match on
`newImageName` to tell).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from image_updater.errors import shortened
from image_updater.observability import count, logger

if TYPE_CHECKING:
    from image_updater.models import ImageSummary

SOURCE = "appstream-image-updater"

UPDATE_STARTED = "Image Update Started"
UPDATE_SUCCEEDED = "Image Update Succeeded"
UPDATE_FAILED = "Image Update Failed"
UPDATE_TIMED_OUT = "Image Update Timed Out"
UPDATE_UNCONFIRMED = "Image Update Unconfirmed"
IMAGES_DELETED = "Images Deleted"
SCHEDULE_PAUSED = "Schedule Paused"
SCHEDULE_RESUMED = "Schedule Resumed"
# The roll-out to fleets.
CANARY_FLEETS_UPDATED = "Canary Fleets Updated"
CANARY_ROLLED_BACK = "Canary Rolled Back"
APPROVAL_REQUESTED = "Rollout Approval Requested"
ROLLOUT_APPROVED = "Rollout Approved"
ROLLOUT_REJECTED = "Rollout Rejected"
APPROVAL_TIMED_OUT = "Rollout Approval Timed Out"
PRODUCTION_FLEETS_UPDATED = "Production Fleets Updated"
FLEET_ROLLED_BACK = "Fleet Rolled Back"
ROLLOUT_DETAIL_TYPES = (
    CANARY_FLEETS_UPDATED,
    CANARY_ROLLED_BACK,
    APPROVAL_REQUESTED,
    ROLLOUT_APPROVED,
    ROLLOUT_REJECTED,
    APPROVAL_TIMED_OUT,
    PRODUCTION_FLEETS_UPDATED,
    FLEET_ROLLED_BACK,
)
DETAIL_TYPES = (
    UPDATE_STARTED,
    UPDATE_SUCCEEDED,
    UPDATE_FAILED,
    UPDATE_TIMED_OUT,
    UPDATE_UNCONFIRMED,
    IMAGES_DELETED,
    SCHEDULE_PAUSED,
    SCHEDULE_RESUMED,
    *ROLLOUT_DETAIL_TYPES,
)

# `outcome` of the events that are not an image's final outcome.
STARTED = "STARTED"
DELETED = "DELETED"
PAUSED = "PAUSED"
RESUMED = "RESUMED"

NOT_PUBLISHED_METRIC = "EventsNotPublished"
REASON_MAX = 500
DELETED_IMAGES_MAX = 50
# EventBridge takes entries up to 1 MB; ours are a few hundred bytes. One this large is a
# bug, and is refused here rather than sent.
ENTRY_MAX_BYTES = 64 * 1024


class EventsClient(Protocol):
    """The one EventBridge call the updater makes (boto3's `events` client)."""

    def put_events(self, *, Entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]: ...


@cache
def default_client() -> EventsClient:
    """Created on first use, like the AppStream client. Short timeouts and few attempts:
    the step's e-mail (or its next step) must not wait on a secondary channel."""
    import boto3  # only the steps that publish pay for it
    from botocore.config import Config

    config = Config(
        connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
    )
    return cast(EventsClient, boto3.client("events", config=config))


# --- publishing ------------------------------------------------------------------------------


def publish(detail_type: str, detail: Mapping[str, Any]) -> bool:
    """PutEvents with one entry on the default bus. True if EventBridge accepted it; never
    raises. Resources: the image the event is about (`newImageArn`) or the images deleted."""
    try:
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, separators=(",", ":"), default=str),
            "Resources": _resources(detail),
        }
        size = len(json.dumps(entry).encode())
        if size > ENTRY_MAX_BYTES:
            return _not_published(detail_type, "EntryTooLarge", f"{size} bytes")
        response = default_client().put_events(Entries=[entry])
        (result,) = response.get("Entries") or [{"ErrorCode": "NoEntryInResponse"}]
        if response.get("FailedEntryCount") or result.get("ErrorCode"):
            return _not_published(
                detail_type,
                str(result.get("ErrorCode") or "FailedEntry"),
                str(result.get("ErrorMessage") or ""),
            )
    except Exception as error:  # any failure here must leave the step's work untouched
        return _not_published(detail_type, _error_code(error), str(error))
    logger.info("Event published", extra={"detail_type": detail_type, "id": result["EventId"]})
    return True


def _not_published(detail_type: str, code: str, message: str) -> bool:
    logger.warning(
        "Event not published",
        extra={"detail_type": detail_type, "error": code, "error_message": shortened(message, 300)},
    )
    count(NOT_PUBLISHED_METRIC)
    return False


def _error_code(error: Exception) -> str:
    """AWS's error code (AccessDeniedException, ...) when there is one, else the class name."""
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return str(code or type(error).__name__)


def _resources(detail: Mapping[str, Any]) -> list[str]:
    arns = [detail.get("newImageArn")]
    arns += [image.get("arn") for image in detail.get("deletedImages") or ()]
    arns += [fleet.get("fleetArn") for fleet in detail.get("fleets") or ()]
    return [arn for arn in arns if isinstance(arn, str) and arn]


# --- retention and the breaker ---------------------------------------------------------------


def images_deleted(
    root: str, deleted: Sequence[ImageSummary], execution_arn: str | None
) -> dict[str, Any]:
    """Retention deleted these images of the lineage of `root` (at most 50 listed)."""
    return {
        "image": root,
        "lineageRoot": root,
        "deletedImages": [
            {"name": image.name, "arn": image.arn} for image in deleted[:DELETED_IMAGES_MAX]
        ],
        "moreDeleted": max(0, len(deleted) - DELETED_IMAGES_MAX),
        "executionArn": execution_arn,
        "outcome": DELETED,
        "reason": None,
    }


def schedule_paused(
    schedule_name: str,
    *,
    consecutive_failed_runs: int,
    execution_arn: str | None,
    reason: str,
) -> dict[str, Any]:
    """The workflow paused its own schedule (the breaker tripped)."""
    return {
        "scheduleName": schedule_name,
        "consecutiveFailedRuns": consecutive_failed_runs,
        "executionArn": execution_arn,
        "outcome": PAUSED,
        "reason": shortened(reason, REASON_MAX),
    }


def schedule_resumed(
    schedule_name: str, *, execution_arn: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    return {
        "scheduleName": schedule_name,
        "consecutiveFailedRuns": 0,
        "executionArn": execution_arn,
        "outcome": RESUMED,
        "reason": shortened(reason, REASON_MAX) if reason else None,
    }


# --- the roll-out ----------------------------------------------------------------------------


def fleet_change(
    detail_type_outcome: str,
    *,
    root: str,
    new_image_name: str | None,
    new_image_arn: str | None,
    execution_arn: str | None,
    stage: str | None,
    fleets: Sequence[Mapping[str, Any]] = (),
    reason: str | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    """A roll-out step: `fleets` are {"fleet", "fleetArn", "previousImage"} (what each ran
    before, its rollback target); `by` is who approved, rejected or rolled back."""
    return {
        "image": root,
        "lineageRoot": root,
        "newImageName": new_image_name,
        "newImageArn": new_image_arn,
        "executionArn": execution_arn,
        "outcome": detail_type_outcome,
        "stage": stage,
        "fleets": [
            {
                "fleet": f.get("fleet"),
                "fleetArn": f.get("fleetArn"),
                "previousImage": f.get("previousImage"),
            }
            for f in list(fleets)[:DELETED_IMAGES_MAX]
        ],
        "by": by,
        "reason": shortened(reason, REASON_MAX) if reason else None,
    }
