"""After the approval (or without one): announces it, and finds when production may change
(`rolloutWindow`, in the schedule's time zone); a Wait state then waits for that moment."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from image_updater import clock, events
from image_updater.handlers import rollout_step
from image_updater.rollout.models import Rollout
from image_updater.rollout.outcomes import APPROVED
from image_updater.rollout.settings import WindowSettings
from image_updater.rollout.window import (
    WINDOW_MAX_DAYS,
    WindowError,
    next_window_start,
    parse_window,
    zone_named,
)


def find_window(rollout: Rollout, _event: dict[str, Any]) -> Rollout:
    approval = rollout.approval or {}
    if approval.get("decision") == APPROVED:
        events.publish(
            events.ROLLOUT_APPROVED,
            events.fleet_change(
                APPROVED,
                root=rollout.root_image_name,
                new_image_name=rollout.new_image_name,
                new_image_arn=rollout.new_image_arn,
                execution_arn=rollout.execution_id,
                stage="production",
                by=str(approval.get("by") or "") or None,
                reason=str(approval.get("reason") or "") or None,
            ),
        )
    settings = WindowSettings.from_env()
    now = clock.utc_now()
    window = parse_window(settings.rollout_window)
    start = now if window is None else next_window_start(window, now, zone_named(settings.timezone))
    if start - now > timedelta(days=WINDOW_MAX_DAYS):
        # The execution's timeout allows this much waiting: never wait past it.
        raise WindowError(
            f"{settings.rollout_window} next starts at {start:%Y-%m-%d %H:%M} UTC, more than "
            f"{WINDOW_MAX_DAYS} days away: production was left as it is"
        )
    return rollout.evolve(window_start=start.astimezone(UTC).isoformat().replace("+00:00", "Z"))


handler = rollout_step(find_window)
