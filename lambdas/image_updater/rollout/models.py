"""The roll-out's records: the facts read about a fleet, and the state one image's roll-out
carries through the workflow (camelCase JSON, like the update's)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from image_updater.errors import shortened
from image_updater.models import event_reader

# The fleet tags an admin sets to opt a fleet in (documented in the README, "Roll-out").
FOLLOWS_TAG = "AppStreamImageUpdater:Image"  # value: the root image of the lineage it follows
STAGE_TAG = "AppStreamImageUpdater:Stage"  # value: canary | production
# Set by the updater on a fleet it changes: the image the fleet ran before, its rollback target.
PREVIOUS_IMAGE_TAG = "AppStreamImageUpdater:PreviousImage"
# ... and the image that change put it on: a retried step knows its own change by it.
ROLLED_OUT_TAG = "AppStreamImageUpdater:RolledOutImage"
RECORD_TAGS = (PREVIOUS_IMAGE_TAG, ROLLED_OUT_TAG)
CANARY = "canary"
PRODUCTION = "production"
STAGES = (CANARY, PRODUCTION)

LISTED_MAX = 50  # fleets listed in a state; AppStream's default quota is far lower
REASON_MAX = 300


class FleetFacts(NamedTuple):
    """What the roll-out needs from AppStream's `Fleet` shape, with the fleet's tags."""

    name: str
    arn: str
    fleet_type: str
    state: str
    platform: str | None
    image_name: str | None
    image_arn: str | None
    desired: int | None
    running: int | None
    errors: tuple[str, ...]
    max_sessions_per_instance: int | None
    tags: Mapping[str, str] = MappingProxyType({})  # read-only: one empty default for all

    @classmethod
    def from_appstream(cls, fleet: dict[str, Any], tags: dict[str, str]) -> FleetFacts:
        capacity = fleet.get("ComputeCapacityStatus") or {}
        return cls(
            name=fleet["Name"],
            arn=fleet["Arn"],
            fleet_type=fleet.get("FleetType", "ON_DEMAND"),
            state=fleet.get("State", "UNKNOWN"),
            platform=fleet.get("Platform"),
            image_name=fleet.get("ImageName"),
            image_arn=fleet.get("ImageArn"),
            desired=capacity.get("Desired"),
            running=capacity.get("Running"),
            errors=tuple(
                shortened(f"{e.get('ErrorCode', 'UNKNOWN')}: {e.get('ErrorMessage', '')}", 300)
                for e in (fleet.get("FleetErrors") or ())[:10]
            ),
            max_sessions_per_instance=fleet.get("MaxSessionsPerInstance"),
            tags=dict(tags),
        )

    @property
    def image(self) -> str | None:
        """The fleet's image as a rollback can name it again: its name, else its ARN."""
        return self.image_name or self.image_arn

    def runs(self, image_name: str, image_arn: str | None) -> bool:
        return self.image_name == image_name or (
            image_arn is not None and self.image_arn == image_arn
        )

    @property
    def stage(self) -> str | None:
        """The stage tag as it is: IAM and the updater match tag values exactly."""
        return self.tags.get(STAGE_TAG) or None


class FleetNote(NamedTuple):
    """A fleet and what happened to it, or why not (for the e-mail and the events)."""

    fleet: str
    stage: str | None = None
    note: str | None = None  # why skipped or refused; or the error; or what it ran before

    def to_json(self) -> dict[str, Any]:
        return {"fleet": self.fleet, "stage": self.stage, "note": self.note}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FleetNote:
        return cls(fleet=str(data["fleet"]), stage=data.get("stage"), note=data.get("note"))


def _notes(data: Any) -> tuple[FleetNote, ...]:
    return tuple(FleetNote.from_json(d) for d in (data or ()) if isinstance(d, dict))


class Rollout(NamedTuple):
    """One new image's way through the roll-out; each step returns an updated copy."""

    root_image_name: str  # the lineage's configured image
    execution_id: str  # the run that rolls the image out (the update's run)
    new_image_name: str  # the image rolled out
    new_image_arn: str | None = None
    platform: str | None = None
    canaries: tuple[str, ...] = ()  # fleets planned for the canary stage
    production: tuple[str, ...] = ()  # fleets planned for production (re-read before)
    passed_over: tuple[FleetNote, ...] = ()  # following fleets skipped or refused, and why
    updated: tuple[FleetNote, ...] = ()  # fleets changed; note = the image they ran before
    not_updated: tuple[FleetNote, ...] = ()  # UpdateFleet refused; note = why
    rolled_back: tuple[FleetNote, ...] = ()
    canaries_updated_at: str | None = None
    healthy: bool | None = None
    problems: tuple[str, ...] = ()  # why the canaries are unhealthy
    window_start: str | None = None
    approval: dict[str, Any] | None = None  # what the approver's command sent
    superseded_by: str | None = None
    outcome: str | None = None
    error: dict[str, Any] | None = None
    fleets_read_error: str | None = None  # the failure e-mail could not read the fleets
    held_back: tuple[FleetNote, ...] = ()  # canaries that cannot test the image now, and why
    health_checks: int = 0  # checks of the canaries so far (a capacity dip is checked again)
    recheck: bool = False  # only a capacity dip so far: check again after a short wait

    @property
    def any_update_refused(self) -> bool:
        return bool(self.not_updated)

    @event_reader("roll-out")
    def from_event(cls: type[Rollout], event: dict[str, Any]) -> Rollout:
        return cls(
            root_image_name=str(event["rootImageName"]),
            execution_id=str(event["executionId"]),
            # A step that failed on the Map's item itself still names the image.
            new_image_name=str(
                event.get("newImageName") or (event.get("result") or {})["newImageName"]
            ),
            new_image_arn=event.get("newImageArn"),
            platform=event.get("platform"),
            canaries=tuple(str(f) for f in event.get("canaries") or ()),
            production=tuple(str(f) for f in event.get("production") or ()),
            passed_over=_notes(event.get("passedOver")),
            updated=_notes(event.get("updated")),
            not_updated=_notes(event.get("notUpdated")),
            rolled_back=_notes(event.get("rolledBack")),
            canaries_updated_at=event.get("canariesUpdatedAt"),
            healthy=event.get("healthy"),
            problems=tuple(str(p) for p in event.get("problems") or ()),
            window_start=event.get("windowStart"),
            approval=event["approval"] if isinstance(event.get("approval"), dict) else None,
            superseded_by=event.get("supersededBy"),
            outcome=event.get("outcome"),
            error=event["error"] if isinstance(event.get("error"), dict) else None,
            held_back=_notes(event.get("heldBack")),
            health_checks=int(event.get("healthChecks") or 0),
            recheck=event.get("recheck") is True,
        )

    def to_event(self) -> dict[str, Any]:
        # Every key the workflow's choices read is present, null or not.
        data: dict[str, Any] = {
            "rootImageName": self.root_image_name,
            "executionId": self.execution_id,
            "newImageName": self.new_image_name,
            "newImageArn": self.new_image_arn,
            "platform": self.platform,
            "canaries": list(self.canaries[:LISTED_MAX]),
            "production": list(self.production[:LISTED_MAX]),
            "passedOver": [n.to_json() for n in self.passed_over[:LISTED_MAX]],
            "updated": [n.to_json() for n in self.updated[:LISTED_MAX]],
            "notUpdated": [n.to_json() for n in self.not_updated[:LISTED_MAX]],
            "rolledBack": [n.to_json() for n in self.rolled_back[:LISTED_MAX]],
            "canariesUpdatedAt": self.canaries_updated_at,
            "healthy": self.healthy,
            "problems": [shortened(p, REASON_MAX) for p in self.problems[:LISTED_MAX]],
            "windowStart": self.window_start,
            "supersededBy": self.superseded_by,
            "anyUpdateRefused": self.any_update_refused,
            "outcome": self.outcome,
            "heldBack": [n.to_json() for n in self.held_back[:LISTED_MAX]],
            "healthChecks": self.health_checks,
            "recheck": self.recheck,
        }
        if self.approval is not None:
            data["approval"] = self.approval
        if self.error is not None:
            data["error"] = self.error
        return data

    def evolve(self, **changes: Any) -> Rollout:
        return self._replace(**changes)

    def updated_in(self, stage: str) -> list[FleetNote]:
        return [note for note in self.updated if note.stage == stage]
