"""Finds the fleets that follow a new image's lineage and decides which can take it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from image_updater.handlers import rollout_step
from image_updater.integrations.appstream.account import THIS_ACCOUNT
from image_updater.rollout.models import Rollout
from image_updater.rollout.plan import plan as plan_rollout
from image_updater.rollout.settings import RolloutPlanSettings

if TYPE_CHECKING:
    from image_updater.rollout.ports import AccountView


def plan(rollout: Rollout, _event: dict[str, Any], view: AccountView = THIS_ACCOUNT) -> Rollout:
    """`view`: this account's own images and fleets (a spoke gives its view of the hub's)."""
    rules = RolloutPlanSettings.from_env()
    return plan_rollout(
        rollout,
        view.images(),
        view.fleets(),
        # Without a canary, production goes only if a person approves it (the approval e-mail
        # says nothing tested it) or the admin said so.
        untested_production=rules.require_approval or rules.allow_untested_production,
    )


handler = rollout_step(plan)
