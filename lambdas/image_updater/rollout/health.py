"""The roll-out's check of the canaries after their soak: state, fleet errors, capacity, alarms,
and whether a newer image's roll-out has moved them on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from image_updater.models import AVAILABLE, ImageSummary
from image_updater.rollout import health_policy
from image_updater.rollout.models import CANARY, FleetFacts, FleetNote, Rollout
from image_updater.rollout.outcomes import SUPERSEDED

if TYPE_CHECKING:
    from image_updater.rollout.ports import AlarmsPort, FleetsPort, ImagesPort


def check_canaries(
    rollout: Rollout,
    fleets: FleetsPort,
    alarms: AlarmsPort,
    alarm_names: Sequence[str],
    images: ImagesPort,
) -> Rollout:
    """Whether the canaries ran the image healthily. A canary a newer image's roll-out moved
    on ends this one as superseded (nothing to roll back: it is the newer roll-out's now)."""
    expected = list(rollout.canaries)
    found = fleets.fleets(expected)
    newer = _moved_to_newer(rollout, found, images)
    if newer:
        moved = tuple(
            FleetNote(f.name, CANARY, f"moved to {f.image}, a newer image of the lineage")
            for f in found
            if f.image in newer
        )
        return rollout.evolve(
            outcome=SUPERSEDED,
            superseded_by=max(newer.values()),
            passed_over=rollout.passed_over + moved,
            recheck=False,
        )
    states = alarms.states(list(alarm_names)) if alarm_names else {}
    health = health_policy.canary_health(found, expected, _image_of(rollout), states)
    checks = rollout.health_checks + 1
    return rollout.evolve(
        healthy=not health.problems,
        problems=health.problems,
        health_checks=checks,
        recheck=health.only_dips and checks <= health_policy.DIP_RECHECKS,
    )


def _moved_to_newer(
    rollout: Rollout, canaries: Sequence[FleetFacts], images: ImagesPort
) -> dict[str, str]:
    """Images (by name and ARN, to their names) of the lineage newer than the roll-out's that
    a canary runs now; empty when none does."""
    away = [f for f in canaries if not f.runs(rollout.new_image_name, rollout.new_image_arn)]
    if not away:
        return {}
    ours = images.describe(rollout.new_image_name)
    newer: dict[str, str] = {}
    for member in images.lineage_members(rollout.root_image_name):
        if (member.created_time or "") > (ours.created_time or ""):
            newer[member.name] = member.name
            if member.arn:
                newer[member.arn] = member.name
    return {key: name for key, name in newer.items() if any(f.image == key for f in away)}


def _image_of(rollout: Rollout) -> ImageSummary:
    return ImageSummary(
        name=rollout.new_image_name,
        arn=rollout.new_image_arn or "",
        state=AVAILABLE,
        platform=rollout.platform,
    )
