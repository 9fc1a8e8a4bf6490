"""Finds the fleets that follow a new image's lineage and decides which can take it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from image_updater.handlers import rollout_step
from image_updater.integrations.appstream.fleets import AppStreamFleets
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.rollout.models import Rollout
from image_updater.rollout.plan import plan as plan_rollout
from image_updater.rollout.settings import RolloutPlanSettings

if TYPE_CHECKING:
    from image_updater.rollout.ports import FleetsPort, ImagesPort


def plan(
    rollout: Rollout,
    _event: dict[str, Any],
    images: ImagesPort | None = None,
    fleets: FleetsPort | None = None,
) -> Rollout:
    """`images` and `fleets`: this account's own (a spoke gives its view of the hub's)."""
    rules = RolloutPlanSettings.from_env()
    return plan_rollout(
        rollout,
        images or AppStreamImages(),
        fleets or AppStreamFleets(),
        # Without a canary, production goes only if a person approves it (the approval e-mail
        # says nothing tested it) or the admin said so.
        untested_production=rules.require_approval or rules.allow_untested_production,
    )


handler = rollout_step(plan)
