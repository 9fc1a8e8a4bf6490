"""Which fleets get a new image (whether the canaries are healthy is `health_policy.py`'s).
Pure: the facts are read by the roll-out's steps; every rule is here, and tested here.

A fleet takes part only when its tag `AppStreamImageUpdater:Image` names the lineage's root
and its tag `AppStreamImageUpdater:Stage` says canary or production, both exactly: IAM's
`StringEquals aws:ResourceTag/...` would deny UpdateFleet on a value that matches only with its
spaces stripped or its case ignored, so such a fleet is passed over with that reason (a canary
so tagged holds the roll-out back: it was meant to test the image). Canaries are the evidence:
one that cannot test the image now (Elastic, not RUNNING, another platform) holds the whole
roll-out back; one already on the image is a canary like the others (it soaks and is checked).
Among the production fleets:
- an Elastic fleet is skipped: it runs app blocks, not images (AWS, "Update a fleet");
- a fleet already on the image is skipped;
- a fleet STARTING or STOPPING is refused for now: AppStream cannot update it in that state;
- a fleet on an image of another platform is refused: AWS documents that a different operating
  system needs the fleet stopped, and the updater never stops a fleet;
- every other fleet, RUNNING or STOPPED, gets the image (a stopped fleet can be updated
  directly; a running Always-On or On-Demand fleet keeps its sessions, instances are replaced
  as they end).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from image_updater.models import ImageSummary
from image_updater.rollout.models import (
    CANARY,
    FOLLOWS_TAG,
    PRODUCTION,
    STAGE_TAG,
    STAGES,
    FleetFacts,
    FleetNote,
)

ELASTIC = "ELASTIC"
UPDATABLE_STATES = frozenset({"RUNNING", "STOPPED"})


class FleetPlan(NamedTuple):
    canaries: tuple[str, ...]
    production: tuple[str, ...]
    passed_over: tuple[FleetNote, ...]
    held_back: tuple[FleetNote, ...] = ()  # canaries that cannot test the image now

    @property
    def any_follower(self) -> bool:
        return bool(self.canaries or self.production or self.passed_over or self.held_back)


def follows(fleet: FleetFacts, root: str) -> bool:
    """Exactly as IAM's StringEquals on the tag matches it."""
    return fleet.tags.get(FOLLOWS_TAG) == root


def _loosely(value: str | None) -> str:
    return (value or "").strip().casefold()


def nearly_follows(fleet: FleetFacts, root: str) -> bool:
    """Its image tag names the root only with spaces stripped or case ignored: the admin meant
    it to follow, IAM would refuse to let the updater change it."""
    value = fleet.tags.get(FOLLOWS_TAG)
    return value is not None and value != root and _loosely(value) == _loosely(root)


def _meant_stage(fleet: FleetFacts) -> str | None:
    """The stage the admin meant, read loosely (only to decide, never to change a fleet)."""
    loose = _loosely(fleet.stage)
    return loose if loose in STAGES else None


def _tag_problem(fleet: FleetFacts, root: str) -> str | None:
    if nearly_follows(fleet, root):
        return (
            f"its tag {FOLLOWS_TAG} is {fleet.tags.get(FOLLOWS_TAG)!r}, not exactly {root!r}: "
            "IAM matches tag values exactly (StringEquals), so the updater may not change it; "
            "correct the tag"
        )
    stage = fleet.stage
    if stage not in STAGES and _meant_stage(fleet):
        return (
            f"its tag {STAGE_TAG} is {stage!r}, not exactly {_meant_stage(fleet)!r}: tag "
            "values are matched exactly (no spaces, lower case); correct the tag"
        )
    return None


def canary_refusal(fleet: FleetFacts, image: ImageSummary) -> str | None:
    """Why canary `fleet` cannot test `image` now, or None when it can (also when it already
    runs it: it is then checked like the others)."""
    if fleet.fleet_type == ELASTIC:
        return "an Elastic fleet runs app blocks, not images: it cannot test an image"
    if fleet.state != "RUNNING":
        return (
            f"the canary is {fleet.state}: only a RUNNING canary runs the image, so this one "
            "cannot test it"
        )
    if fleet.platform and image.platform and fleet.platform != image.platform:
        return (
            f"the image's platform {image.platform} differs from the canary's {fleet.platform}: "
            "AWS requires the fleet to be stopped for that, and the updater never stops a fleet"
        )
    return None


def refusal(fleet: FleetFacts, image: ImageSummary) -> str | None:
    """Why `fleet` cannot take `image` now, or None when it can."""
    if fleet.fleet_type == ELASTIC:
        return "Elastic fleets run app blocks, not images: skipped"
    if fleet.runs(image.name, image.arn):
        return "already on this image"
    if fleet.state not in UPDATABLE_STATES:
        return f"the fleet is {fleet.state}; AppStream updates only RUNNING or STOPPED fleets"
    if fleet.platform and image.platform and fleet.platform != image.platform:
        return (
            f"the image's platform {image.platform} differs from the fleet's {fleet.platform}: "
            "AWS requires the fleet to be stopped for that, and the updater never stops a fleet"
        )
    return None


def plan_fleets(root: str, image: ImageSummary, fleets: Iterable[FleetFacts]) -> FleetPlan:
    """Each fleet that follows the lineage of `root`: canary, production, passed over, or a
    canary that holds the roll-out back."""
    canaries: list[str] = []
    production: list[str] = []
    passed_over: list[FleetNote] = []
    held_back: list[FleetNote] = []
    for fleet in sorted(fleets, key=lambda f: f.name):
        if not (follows(fleet, root) or nearly_follows(fleet, root)):
            continue
        stage = fleet.stage
        tag_problem = _tag_problem(fleet, root)
        if tag_problem:
            meant = _meant_stage(fleet)
            (held_back if meant == CANARY else passed_over).append(
                FleetNote(fleet.name, meant or stage, tag_problem)
            )
            continue
        if stage not in STAGES:
            passed_over.append(
                FleetNote(
                    fleet.name,
                    stage,
                    f"its tag AppStreamImageUpdater:Stage is {stage!r}, not canary or production",
                )
            )
            continue
        if stage == CANARY:
            reason = canary_refusal(fleet, image)
            if reason:
                held_back.append(FleetNote(fleet.name, stage, reason))
            else:
                canaries.append(fleet.name)
            continue
        reason = refusal(fleet, image)
        if reason:
            passed_over.append(FleetNote(fleet.name, stage, reason))
        else:
            production.append(fleet.name)
    return FleetPlan(tuple(canaries), tuple(production), tuple(passed_over), tuple(held_back))


def approved_production(
    root: str,
    image: ImageSummary,
    fleets: Iterable[FleetFacts],
    approved: Sequence[str],
    *,
    after: str,
    passed_over_then: Sequence[str] = (),
) -> FleetPlan:
    """The production fleets that may change now: those named when production was planned
    (the approval e-mail's list) that are still tagged for it and can take the image. Any
    other fleet tagged for production now is left alone, with the reason; one that dropped
    out is said. `after` is what fixed the set ("the approval", "this roll-out was planned");
    `passed_over_then` are production fleets that could not take the image at that time."""
    plan = plan_fleets(root, image, fleets)
    named = set(approved)
    then = set(passed_over_then)
    known = named | then  # named, or said to be passed over, when the set was fixed

    def waits(name: str) -> FleetNote:
        if name in then:
            why = f"not in the set fixed by {after} (it could not take the image then)"
        else:
            why = f"tagged after {after}"
        return FleetNote(name, PRODUCTION, f"{why}: waits for the next approved roll-out")

    production_passed_over = {n.fleet for n in plan.passed_over if n.stage == PRODUCTION}
    reported = {*plan.production, *(n.fleet for n in plan.passed_over)}
    return FleetPlan(
        canaries=(),
        production=tuple(name for name in plan.production if name in named),
        passed_over=tuple(
            note
            for note in plan.passed_over
            if note.stage != CANARY and (note.fleet in known or note.stage != PRODUCTION)
        )
        + tuple(
            waits(name)
            for name in sorted({*plan.production, *(production_passed_over - known)} - named)
        )
        + tuple(
            FleetNote(name, PRODUCTION, "no longer tagged for production: left as it is")
            for name in approved
            if name not in reported
        ),
    )


__all__ = [
    "CANARY",
    "PRODUCTION",
    "FleetPlan",
    "approved_production",
    "canary_refusal",
    "follows",
    "nearly_follows",
    "plan_fleets",
    "refusal",
]
