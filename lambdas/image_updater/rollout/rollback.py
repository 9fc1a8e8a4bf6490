"""The roll-out's way back: canaries that ran the new image badly go back to the image the
updater recorded before it changed them (never to what a fleet's tags say)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from image_updater.errors import shortened
from image_updater.rollout.fleets import REFUSALS
from image_updater.rollout.models import CANARY, RECORD_TAGS, FleetFacts, FleetNote, Rollout
from image_updater.rollout.outcomes import CANARY_ROLLED_BACK
from image_updater.rollout.records import RollbackRecord, disagreement

if TYPE_CHECKING:
    from image_updater.rollout.ports import FleetsPort


def roll_back_canaries(rollout: Rollout, fleets: FleetsPort) -> Rollout:
    """Each canary this roll-out changed, if it still runs the new image, goes back to the
    image the updater recorded in the ledger (never to what the fleet's tags say: a fleet
    whose tags disagree with the record stays, and the e-mail says why); the record is then
    removed (it has served)."""
    rolled_back: list[FleetNote] = []
    not_rolled_back: list[FleetNote] = []
    changed = rollout.updated_in(CANARY)
    ran_before = {note.fleet: note.note for note in changed}
    for fleet in fleets.fleets([note.fleet for note in changed]):
        before = ran_before.get(fleet.name)
        record = fleets.rollback_record(fleet.name)
        if before and before in (fleet.image_name, fleet.image_arn):
            # Back on the image it ran before this roll-out: put back by this step before it
            # was retried (its record then served, or is removed now).
            if record is not None or any(tag in fleet.tags for tag in RECORD_TAGS):
                fleets.forget_previous_image(fleet)
            rolled_back.append(FleetNote(fleet.name, CANARY, before))
            continue
        if not fleet.runs(rollout.new_image_name, rollout.new_image_arn):
            not_rolled_back.append(
                FleetNote(fleet.name, CANARY, f"left on {fleet.image}: changed by someone else")
            )
            continue
        refusal = _rollback_refusal(record, fleet, rollout.new_image_name)
        if refusal or record is None:
            not_rolled_back.append(FleetNote(fleet.name, CANARY, refusal))
            continue
        try:
            fleets.set_image(fleet.name, record.target)
            fleets.forget_previous_image(fleet)
        except REFUSALS as error:
            not_rolled_back.append(FleetNote(fleet.name, CANARY, shortened(str(error), 300)))
        else:
            rolled_back.append(FleetNote(fleet.name, CANARY, record.previous_image))
    return rollout.evolve(
        rolled_back=tuple(rolled_back),
        not_updated=rollout.not_updated + tuple(not_rolled_back),
        outcome=CANARY_ROLLED_BACK,
    )


def _rollback_refusal(record: RollbackRecord | None, fleet: FleetFacts, image: str) -> str | None:
    """Why `fleet` must not go back to `record` (left on `image`), or None."""
    if record is None:
        return "not rolled back: the updater holds no record of its previous image"
    if record.rolled_out != image:
        return f"not rolled back: the updater's record is of its change to {record.rolled_out}"
    tampered = disagreement(record, fleet.tags)
    if tampered:
        return shortened(f"not rolled back, left on {image}: {tampered}", 300)
    return None
