"""What one Region's part of an image's distribution carries through the workflow.

The hub's own Region has no copy to make (`region` None; "" in the workflow's JSON, where a
null would be dropped from the plan: the function's own Region); each other Region gets a copy
first. Either way the image is then shared there with `shares`.
Plain dataclasses (a distribution runs once per image: no cold-start target), camelCase JSON,
read as `image_updater.models` reads its records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from image_updater.errors import shortened
from image_updater.models import AVAILABLE, FAILED, event_reader

HOME = ""  # the hub's own Region, in the workflow's JSON
PLANNED = "PLANNED"  # a copy's state before its first step
COPYING = "COPYING"
NOT_OURS = "NOT_OURS"  # a same-named image the updater did not make: never touched
# The copy's states the workflow tells apart (AppStream's are an open set: anything else is
# "not there yet" and is polled again).
SETTLED = frozenset({AVAILABLE, FAILED, NOT_OURS})
REASON_MAX = 500


@dataclass(frozen=True)
class ShareTarget:
    """An account to share the image with in this Region, and what it may do with it."""

    account_id: str
    allow_fleet: bool
    allow_image_builder: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "allowFleet": self.allow_fleet,
            "allowImageBuilder": self.allow_image_builder,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShareTarget:
        return cls(
            str(data["accountId"]), data["allowFleet"] is True, data["allowImageBuilder"] is True
        )


@dataclass(frozen=True)
class ShareOutcome:
    account_id: str
    shared: bool
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"accountId": self.account_id, "shared": self.shared, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShareOutcome:
        return cls(str(data["accountId"]), data["shared"] is True, data.get("reason"))


@dataclass(frozen=True)
class RegionDistribution:
    """One Region's copy (none in the hub's Region) and shares of one new image."""

    root_image_name: str
    new_image_name: str
    execution_id: str
    region: str | None  # None: the hub's own Region (the function's)
    shares: tuple[ShareTarget, ...] = ()
    state: str | None = None  # the copy's (COPYING, AVAILABLE, FAILED, NOT_OURS); None: not yet
    reason: str | None = None  # why the copy FAILED or is NOT_OURS
    polls: int = 0
    shared: tuple[ShareOutcome, ...] = ()

    @event_reader("distribution")
    def from_event(cls: type[RegionDistribution], event: dict[str, Any]) -> RegionDistribution:
        region = event.get("region")
        return cls(
            root_image_name=str(event["rootImageName"]),
            new_image_name=str(event["newImageName"]),
            execution_id=str(event["executionId"]),
            region=str(region) if region else None,
            shares=tuple(ShareTarget.from_json(s) for s in event.get("shares", ())),
            state=event.get("state"),
            reason=event.get("reason"),
            polls=int(event.get("polls", 0)),
            shared=tuple(ShareOutcome.from_json(s) for s in event.get("shared", ())),
        )

    def to_event(self) -> dict[str, Any]:
        # Every key present, even when null: the state machine's Choice reads `state`.
        return {
            "rootImageName": self.root_image_name,
            "newImageName": self.new_image_name,
            "executionId": self.execution_id,
            "region": self.region or HOME,
            "shares": [s.to_json() for s in self.shares],
            "state": self.state,
            "reason": self.reason,
            "polls": self.polls,
            "shared": [s.to_json() for s in self.shared],
        }

    def settled(self, state: str, reason: str | None = None) -> RegionDistribution:
        return replace(self, state=state, reason=None if reason is None else _short(reason))

    def polled(self, state: str) -> RegionDistribution:
        return replace(self, state=state, polls=self.polls + 1)

    def with_shares(self, outcomes: tuple[ShareOutcome, ...]) -> RegionDistribution:
        return replace(self, shared=outcomes)


def _short(text: str) -> str:
    return shortened(text, REASON_MAX)
