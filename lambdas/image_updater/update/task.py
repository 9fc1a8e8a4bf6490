"""One image's way through the update (check, create, poll, report), as the workflow carries it
from step to step: the update's own record, beside the records every capability shares
(`image_updater.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from image_updater.models import ImageSummary, event_reader


class UpdateTask(NamedTuple):
    """One image's way through the workflow; each step returns an updated copy."""

    root_image_name: str
    execution_id: str
    started_at: str
    dry_run: bool = False
    action: str | None = None
    source: ImageSummary | None = None
    new_image_name: str | None = None
    image: ImageSummary | None = None
    polls: int = 0
    outcome: str | None = None
    root_missing: bool = False  # the configured image was deleted; its lineage carries on
    # What retention did once the update settled ({"deleted", "kept", ...}), or the error that
    # stopped it ({"Error", "Cause"}), as the workflow carries it.
    retention: dict[str, Any] | None = None

    @event_reader("task")
    def from_event(cls: type[UpdateTask], event: dict[str, Any]) -> UpdateTask:
        return cls(
            root_image_name=str(event["rootImageName"]),
            execution_id=str(event["executionId"]),
            started_at=str(event["startedAt"]),
            dry_run=_boolean(event.get("dryRun", False)),
            action=event.get("action"),
            source=_summary(event.get("source")),
            new_image_name=event.get("newImageName"),
            image=_summary(event.get("image")),
            polls=int(event.get("polls", 0)),
            outcome=event.get("outcome"),
            root_missing=event.get("rootMissing") is True,
            retention=event["retention"] if isinstance(event.get("retention"), dict) else None,
        )

    def to_event(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rootImageName": self.root_image_name,
            "executionId": self.execution_id,  # the run's ARN ($$.Execution.Id)
            "startedAt": self.started_at,
            "dryRun": self.dry_run,
            "polls": self.polls,
            # Always present (null or not), so the state machine's paths can read them.
            "action": self.action,
            "outcome": self.outcome,
        }
        if self.source:
            data["source"] = self.source.to_json()
        data["newImageName"] = self.new_image_name
        if self.image:
            data["image"] = self.image.to_json()
        if self.root_missing:
            data["rootMissing"] = True
        if self.retention is not None:
            data["retention"] = self.retention
        return data

    @property
    def started_at_time(self) -> datetime:
        return datetime.fromisoformat(self.started_at.replace("Z", "+00:00"))

    def evolve(self, **changes: Any) -> UpdateTask:
        return self._replace(**changes)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"dryRun must be true or false, got {value!r}")
    return value


def _summary(data: Any) -> ImageSummary | None:
    return ImageSummary.from_json(data) if isinstance(data, dict) else None
