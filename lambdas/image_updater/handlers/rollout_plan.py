"""Finds the fleets that follow a new image's lineage and decides which can take it."""

from __future__ import annotations

from typing import Any

from image_updater import settings
from image_updater.handlers import rollout_step
from image_updater.integrations.appstream.fleets import AppStreamFleets
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.rollout import service
from image_updater.rollout.models import Rollout


def plan(
    rollout: Rollout,
    _event: dict[str, Any],
    images: service.ImagesPort | None = None,
    fleets: service.FleetsPort | None = None,
) -> Rollout:
    """`images` and `fleets`: this account's own (a spoke gives its view of the hub's)."""
    rules = settings.RolloutPlanSettings.from_env()
    return service.plan(
        rollout,
        images or AppStreamImages(),
        fleets or AppStreamFleets(),
        # Without a canary, production goes only if a person approves it (the approval e-mail
        # says nothing tested it) or the admin said so.
        untested_production=rules.require_approval or rules.allow_untested_production,
    )


handler = rollout_step(plan)
