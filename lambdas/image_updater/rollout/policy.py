"""Which fleets get a new image, and whether the canaries are healthy. Pure: the facts are
read by the service; every rule is here, and tested here.

A fleet takes part only when its tag `AppStreamImageUpdater:Image` names the lineage's root
and its tag `AppStreamImageUpdater:Stage` says canary or production. Among those:
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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from image_updater.models import ImageSummary
from image_updater.rollout.models import (
    CANARY,
    FOLLOWS_TAG,
    PRODUCTION,
    STAGES,
    FleetFacts,
    FleetNote,
)

ELASTIC = "ELASTIC"
UPDATABLE_STATES = frozenset({"RUNNING", "STOPPED"})
HEALTHY_ALARM_STATE = "OK"


@dataclass(frozen=True)
class FleetPlan:
    canaries: tuple[str, ...]
    production: tuple[str, ...]
    passed_over: tuple[FleetNote, ...]

    @property
    def any_follower(self) -> bool:
        return bool(self.canaries or self.production or self.passed_over)


def follows(fleet: FleetFacts, root: str) -> bool:
    return fleet.tags.get(FOLLOWS_TAG, "").strip() == root


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
    """Each fleet that follows the lineage of `root`: canary, production, or passed over."""
    canaries: list[str] = []
    production: list[str] = []
    passed_over: list[FleetNote] = []
    for fleet in sorted(fleets, key=lambda f: f.name):
        if not follows(fleet, root):
            continue
        stage = fleet.stage
        if stage not in STAGES:
            passed_over.append(
                FleetNote(
                    fleet.name,
                    stage,
                    f"its tag AppStreamImageUpdater:Stage is {stage!r}, not canary or production",
                )
            )
            continue
        reason = refusal(fleet, image)
        if reason:
            passed_over.append(FleetNote(fleet.name, stage, reason))
        elif stage == CANARY:
            canaries.append(fleet.name)
        else:
            production.append(fleet.name)
    return FleetPlan(tuple(canaries), tuple(production), tuple(passed_over))


def canary_problems(
    canaries: Sequence[FleetFacts],
    expected: Sequence[str],
    image: ImageSummary,
    alarms: Mapping[str, str | None],
) -> list[str]:
    """Why the canaries are unhealthy after their soak (empty: healthy). `alarms` maps each
    configured alarm name to its state, None when no such metric alarm exists: a missing
    alarm, or one without data, proves nothing, so it counts against the canary."""
    problems: list[str] = []
    found = {fleet.name: fleet for fleet in canaries}
    for name in expected:
        fleet = found.get(name)
        if fleet is None:
            problems.append(f"{name}: the fleet no longer exists")
            continue
        if not fleet.runs(image.name, image.arn):
            problems.append(
                f"{name}: now on {fleet.image or 'no image'}, not {image.name} (changed by "
                "someone else; left as it is)"
            )
            continue
        if fleet.state != "RUNNING":
            problems.append(f"{name}: the fleet is {fleet.state}, so it tested nothing")
        problems.extend(f"{name}: {error}" for error in fleet.errors)
        if fleet.desired is not None and (fleet.running or 0) < fleet.desired:
            problems.append(
                f"{name}: {fleet.running or 0} of {fleet.desired} desired instances running"
            )
    for alarm, state in alarms.items():
        if state is None:
            problems.append(f"alarm {alarm}: no such metric alarm")
        elif state != HEALTHY_ALARM_STATE:
            problems.append(f"alarm {alarm}: {state}")
    return problems


def production_fleets(root: str, image: ImageSummary, fleets: Iterable[FleetFacts]) -> FleetPlan:
    """The production stage as the tags say now (an admin may have changed them while the
    approval waited): canary fleets are left out, they were handled."""
    plan = plan_fleets(root, image, fleets)
    return FleetPlan(
        canaries=(),
        production=plan.production,
        passed_over=tuple(note for note in plan.passed_over if note.stage != CANARY),
    )


__all__ = [
    "CANARY",
    "PRODUCTION",
    "FleetPlan",
    "canary_problems",
    "follows",
    "plan_fleets",
    "production_fleets",
    "refusal",
]
