"""Checks the canary fleets after their soak: state, fleet errors, capacity, alarms (and
whether a newer image's roll-out has moved them on)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from image_updater.handlers import rollout_step
from image_updater.integrations.appstream.fleets import AppStreamFleets
from image_updater.integrations.appstream.images import AppStreamImages
from image_updater.integrations.cloudwatch import CloudWatchAlarms
from image_updater.rollout.health import check_canaries
from image_updater.rollout.models import Rollout
from image_updater.rollout.settings import HealthSettings

if TYPE_CHECKING:
    from image_updater.rollout.ports import ImagesPort


def check(rollout: Rollout, _event: dict[str, Any], images: ImagesPort | None = None) -> Rollout:
    """`images`: this account's own (a spoke gives its view of the hub's)."""
    alarm_names = HealthSettings.from_env().canary_alarm_names
    alarms = CloudWatchAlarms() if alarm_names else _NoAlarms()
    return check_canaries(
        rollout, AppStreamFleets(), alarms, alarm_names, images or AppStreamImages()
    )


class _NoAlarms:
    """No alarm configured: no CloudWatch client, no call."""

    def states(self, names: Any) -> dict[str, str | None]:
        return {}


handler = rollout_step(check)
