"""A spoke's fleet changes: the hub's, with the hub's images named by their ARNs (a shared
image can only be put on a fleet by its ARN). The only spoke function allowed UpdateFleet."""

from __future__ import annotations

from typing import Any

from image_updater.handlers import rollout_fleets, rollout_step
from image_updater.rollout.models import Rollout
from image_updater.spoke.view import HubView


def change_fleets(rollout: Rollout, event: dict[str, Any]) -> Rollout:
    return rollout_fleets.change_fleets(rollout, event, HubView())


handler = rollout_step(change_fleets)
