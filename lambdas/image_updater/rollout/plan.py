"""The roll-out's first step: which fleets follow a new image's lineage, and which of them can
take it. It reads the fleets' tags and the image when it runs, so a plan made days after the
image was built still sees the account as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from image_updater.domain.lineage import Lineage
from image_updater.rollout import policy
from image_updater.rollout.models import Rollout
from image_updater.rollout.outcomes import (
    CANARY_FIRST,
    HELD_BACK,
    NO_FLEETS,
    NOTHING_TO_ROLL_OUT,
    PRODUCTION_NEXT,
    SUPERSEDED,
)

if TYPE_CHECKING:
    from image_updater.rollout.ports import FleetsPort, ImagesPort


def plan(
    rollout: Rollout,
    images: ImagesPort,
    fleets: FleetsPort,
    *,
    untested_production: bool = False,
) -> Rollout:
    """Which fleets follow the lineage, and which of them can take the new image. Production
    goes first only with `untested_production` (a person approves it, told that nothing tested
    it, or the admin allowed it): otherwise a roll-out without a canary is held back, as is
    one whose canary cannot test the image now."""
    followers = [
        f
        for f in fleets.all_fleets()
        if policy.follows(f, rollout.root_image_name)
        or policy.nearly_follows(f, rollout.root_image_name)
    ]
    if not followers:  # the common case: said without a look at the image
        return rollout.evolve(outcome=NO_FLEETS)
    image = images.describe(rollout.new_image_name)
    rollout = rollout.evolve(new_image_arn=image.arn, platform=image.platform)
    found = policy.plan_fleets(rollout.root_image_name, image, followers)
    rollout = rollout.evolve(
        canaries=found.canaries,
        production=found.production,
        passed_over=found.passed_over,
        held_back=found.held_back,
    )
    if not found.any_follower:
        return rollout.evolve(outcome=NO_FLEETS)
    members = tuple(images.lineage_members(rollout.root_image_name))
    newer = Lineage(root=None, members=members).newer_than(image)
    if newer:
        return rollout.evolve(outcome=SUPERSEDED, superseded_by=newer)
    if found.held_back:
        return rollout.evolve(outcome=HELD_BACK)
    if found.canaries:
        return rollout.evolve(outcome=CANARY_FIRST)
    if found.production:
        return rollout.evolve(outcome=PRODUCTION_NEXT if untested_production else HELD_BACK)
    return rollout.evolve(outcome=NOTHING_TO_ROLL_OUT)
