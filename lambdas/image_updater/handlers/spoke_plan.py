"""A spoke's roll-out plan: the hub's roll-out plan over the hub's images as this account
sees them."""

from __future__ import annotations

from typing import Any

from image_updater.handlers import rollout_plan, rollout_step
from image_updater.rollout.models import Rollout
from image_updater.spoke.view import HubView


def plan(rollout: Rollout, event: dict[str, Any]) -> Rollout:
    return rollout_plan.plan(rollout, event, HubView())


handler = rollout_step(plan)
