"""Whether the canaries are evidence that a new image works. Pure: the facts (fleets, alarms'
states) are read by the roll-out's health step; every rule is here, and tested here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from image_updater.models import ImageSummary
from image_updater.rollout.models import FleetFacts

HEALTHY_ALARM_STATE = "OK"
# A canary below its desired capacity is checked again this many times, this many minutes
# apart (a Wait in the workflow), before the dip counts against it: an instance replaced as
# a session ends, or a scale-out, takes minutes; a fleet that cannot run the image stays low.
DIP_RECHECKS = 3
DIP_RECHECK_MINUTES = 5


class CanaryHealth(NamedTuple):
    problems: tuple[str, ...]
    # Every problem is running capacity below a desired capacity above 0: what an instance
    # being replaced or a scale-out looks like for minutes, so it is checked again first.
    only_dips: bool


def canary_health(
    canaries: Sequence[FleetFacts],
    expected: Sequence[str],
    image: ImageSummary,
    alarms: Mapping[str, str | None],
) -> CanaryHealth:
    """Whether the canaries are evidence that `image` works. `alarms` maps each configured
    alarm name to its state, None when no such metric alarm exists: a missing alarm, or one
    without data, proves nothing, so it counts against the canary. AppStream says which image
    a fleet is set to, not which image each instance runs: a canary counts as having run the
    image when it is RUNNING on it with at least one instance running and running capacity at
    its desired level (unused instances are replaced with the new image at once)."""
    problems: list[str] = []
    dips = 0
    found = {fleet.name: fleet for fleet in canaries}
    if not expected:
        problems.append("no canary ran the image, so nothing tested it")
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
        desired, running = fleet.desired or 0, fleet.running or 0
        if desired == 0 and running == 0:
            problems.append(
                f"{name}: desired and running capacity are 0, so it ran no instance of the "
                "image and tested nothing"
            )
        elif running < desired:
            dips += 1
            problems.append(f"{name}: {running} of {desired} desired instances running")
    for alarm, state in alarms.items():
        if state is None:
            problems.append(f"alarm {alarm}: no such metric alarm")
        elif state != HEALTHY_ALARM_STATE:
            problems.append(f"alarm {alarm}: {state}")
    return CanaryHealth(tuple(problems), only_dips=0 < dips == len(problems))


def canary_problems(
    canaries: Sequence[FleetFacts],
    expected: Sequence[str],
    image: ImageSummary,
    alarms: Mapping[str, str | None],
) -> list[str]:
    """Why the canaries are unhealthy (empty: healthy); see `canary_health`."""
    return list(canary_health(canaries, expected, image, alarms).problems)
