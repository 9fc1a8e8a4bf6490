"""A spoke's canary check: the hub's, over the hub's images as this account sees them."""

from __future__ import annotations

from typing import Any

from image_updater.handlers import rollout_health, rollout_step
from image_updater.rollout.models import Rollout
from image_updater.spoke.images import HubImages


def check(rollout: Rollout, event: dict[str, Any]) -> Rollout:
    return rollout_health.check(rollout, event, images=HubImages())


handler = rollout_step(check)
