"""Changes fleets' image: the canary stage, the production stage, or the canaries back to
their previous image. The only function allowed to call UpdateFleet (on tagged fleets)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from image_updater import clock, events
from image_updater.errors import InvalidExecutionInput
from image_updater.handlers import rollout_step
from image_updater.integrations.appstream.account import THIS_ACCOUNT
from image_updater.observability import count
from image_updater.rollout.fleets import update_canaries, update_production
from image_updater.rollout.models import CANARY, PRODUCTION, FleetNote, Rollout
from image_updater.rollout.outcomes import SUPERSEDED
from image_updater.rollout.rollback import roll_back_canaries

if TYPE_CHECKING:
    from image_updater.rollout.ports import AccountView

UPDATE_CANARIES = "update-canaries"
ROLL_BACK_CANARIES = "roll-back-canaries"
UPDATE_PRODUCTION = "update-production"


def change_fleets(
    rollout: Rollout, event: dict[str, Any], view: AccountView = THIS_ACCOUNT
) -> Rollout:
    """`view`: this account's own images and fleets (a spoke gives its view of the hub's)."""
    action = event.get("action")
    fleets = view.fleets()
    if action == UPDATE_CANARIES:
        result = update_canaries(rollout, fleets, clock.utc_now())
        _announce(events.CANARY_FLEETS_UPDATED, result, CANARY, result.updated_in(CANARY))
    elif action == ROLL_BACK_CANARIES:
        result = roll_back_canaries(rollout, fleets)
        # Each fleet ran the new image before it went back: that is its previous image here.
        _announce(
            events.CANARY_ROLLED_BACK,
            result,
            CANARY,
            [FleetNote(n.fleet, n.stage, rollout.new_image_name) for n in result.rolled_back],
            reason="; ".join(result.problems) or "a canary fleet refused the image",
        )
    elif action == UPDATE_PRODUCTION:
        result = update_production(rollout, view.images(), fleets)
        if result.outcome != SUPERSEDED:
            _announce(
                events.PRODUCTION_FLEETS_UPDATED, result, PRODUCTION, result.updated_in(PRODUCTION)
            )
    else:
        raise InvalidExecutionInput(f"unknown fleet action {action!r}")
    count("FleetsChanged", len(result.updated) - len(rollout.updated) + len(result.rolled_back))
    if action == ROLL_BACK_CANARIES:
        count("FleetsRolledBack", len(result.rolled_back))
    return result


def _announce(
    detail_type: str,
    rollout: Rollout,
    stage: str,
    notes: list[FleetNote] | tuple[FleetNote, ...],
    *,
    reason: str | None = None,
) -> None:
    if not notes:
        return
    arn_prefix = (rollout.new_image_arn or "").split(":image/")[0]
    events.publish(
        detail_type,
        events.fleet_change(
            rollout.outcome or "",
            root=rollout.root_image_name,
            new_image_name=rollout.new_image_name,
            new_image_arn=rollout.new_image_arn,
            execution_arn=rollout.execution_id,
            stage=stage,
            fleets=[
                {
                    "fleet": note.fleet,
                    "fleetArn": f"{arn_prefix}:fleet/{note.fleet}" if arn_prefix else None,
                    "previousImage": note.note,
                }
                for note in notes
            ],
            reason=reason,
        ),
    )


handler = rollout_step(change_fleets)
