"""The roll-out's changes of a stage's fleets: the canaries, then production, each put on the new
image with the image it ran before recorded first. Each reads the fleets and their tags when
it runs, so a step retried or run days after the one before it acts on the account as it is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from image_updater.domain.lineage import Lineage
from image_updater.errors import shortened
from image_updater.integrations.appstream.fleets import FleetNotFound, FleetRefused
from image_updater.rollout import policy
from image_updater.rollout.models import CANARY, PRODUCTION, FleetFacts, FleetNote, Rollout
from image_updater.rollout.outcomes import CANARIES_UPDATED, PRODUCTION_UPDATED, SUPERSEDED

if TYPE_CHECKING:
    from image_updater.rollout.ports import FleetsPort, ImagesPort
    from image_updater.rollout.records import RollbackRecord

# One fleet's refusal (gone, or AppStream said no) is reported with the others' results; it
# does not stop them. Transient errors (busy, throttled) are raised: the step is retried, and
# a fleet already changed counts as changed.
REFUSALS = (FleetNotFound, FleetRefused)


def _change(
    fleets: FleetsPort,
    targets: Sequence[FleetFacts],
    stage: str,
    image: str,
    image_arn: str | None,
    *,
    execution_id: str,
) -> tuple[list[FleetNote], list[FleetNote]]:
    """Put each target fleet on `image`, recording the image it ran before in the ledger
    first. A fleet this roll-out already put on it (a retried step: the record says so)
    counts as changed and keeps its record."""
    changed: list[FleetNote] = []
    refused: list[FleetNote] = []
    for fleet in targets:
        earlier = fleets.rollback_record(fleet.name)
        if fleet.runs(image, image_arn):
            if earlier is not None and earlier.rolled_out == image:
                changed.append(FleetNote(fleet.name, stage, earlier.previous_image))
            continue
        try:
            if fleet.image:
                fleets.record_previous_image(fleet, image, execution_id)
            fleets.set_image(fleet.name, image)
        except REFUSALS as refusal:
            refused.append(FleetNote(fleet.name, stage, shortened(str(refusal), 300)))
            # (a record of this very change, left by an attempt before a retry, is no
            # earlier record: it goes)
            mine = earlier is not None and earlier.rolled_out == image
            _restore_record(fleets, fleet, None if mine else earlier)
        else:
            changed.append(FleetNote(fleet.name, stage, fleet.image))
    return changed, refused


def update_canaries(rollout: Rollout, fleets: FleetsPort, now: datetime) -> Rollout:
    """Canary fleets get the image (the workflow puts them back if any refused)."""
    targets = [f for f in fleets.fleets(rollout.canaries) if _still(f, rollout, CANARY)]
    changed, refused = _change(
        fleets,
        targets,
        CANARY,
        rollout.new_image_name,
        rollout.new_image_arn,
        execution_id=rollout.execution_id,
    )
    # The canaries are the evidence: those changed now and those already on the image alike
    # (each soaks and is checked); one no longer tagged as a canary is not.
    return rollout.evolve(
        canaries=tuple(f.name for f in targets),
        updated=tuple(changed),
        not_updated=tuple(refused),
        canaries_updated_at=now.isoformat(),
        outcome=CANARIES_UPDATED,
    )


def update_production(rollout: Rollout, images: ImagesPort, fleets: FleetsPort) -> Rollout:
    """The production fleets named when production was planned (the approval e-mail's list)
    and still tagged for it get the image; a fleet tagged since waits for the next roll-out.
    Nothing changes if a newer image of the lineage exists by now (approving an old roll-out
    must never move production backwards)."""
    image = images.describe(rollout.new_image_name)
    members = tuple(images.lineage_members(rollout.root_image_name))
    newer = Lineage(root=None, members=members).newer_than(image)
    if newer:
        return rollout.evolve(outcome=SUPERSEDED, superseded_by=newer)
    every_fleet = fleets.all_fleets()
    found = policy.approved_production(
        rollout.root_image_name,
        image,
        every_fleet,
        rollout.production,
        after="the approval" if rollout.approval is not None else "this roll-out was planned",
        passed_over_then=[n.fleet for n in rollout.passed_over if n.stage == PRODUCTION],
    )
    # A fleet this step changed before it was retried already runs the image, with the
    # ledger's record written right before its UpdateFleet: it counts as changed, not as
    # passed over (the record, not the fleet's tags: anyone who can tag a fleet can edit those).
    retried = {
        fleet.name
        for fleet in every_fleet
        if fleet.name in rollout.production
        and _still(fleet, rollout, PRODUCTION)
        and fleet.runs(image.name, image.arn)
        and _rolled_out_by_record(fleets, fleet.name) == image.name
    }
    targets = [f for f in every_fleet if f.name in found.production or f.name in retried]
    found = policy.FleetPlan(
        canaries=(),
        production=tuple(sorted({*found.production, *retried})),
        passed_over=tuple(n for n in found.passed_over if n.fleet not in retried),
    )
    changed, refused = _change(
        fleets, targets, PRODUCTION, image.name, image.arn, execution_id=rollout.execution_id
    )
    return rollout.evolve(
        production=found.production,
        passed_over=tuple(n for n in rollout.passed_over if n.stage == CANARY) + found.passed_over,
        updated=rollout.updated + tuple(changed),
        not_updated=rollout.not_updated + tuple(refused),
        outcome=PRODUCTION_UPDATED,
    )


def _rolled_out_by_record(fleets: FleetsPort, fleet: str) -> str | None:
    record = fleets.rollback_record(fleet)
    return record.rolled_out if record is not None else None


def _restore_record(fleets: FleetsPort, fleet: FleetFacts, earlier: RollbackRecord | None) -> None:
    """UpdateFleet refused: the fleet's record goes back to what it was (an earlier roll-out's
    rollback target is not lost to a change that never happened)."""
    try:
        if earlier is not None:
            fleets.restore_record(fleet, earlier)
        elif fleet.image:
            fleets.forget_previous_image(fleet)
    except REFUSALS:
        pass  # the fleet is gone or refuses tags too: its refusal is already reported


def _still(fleet: FleetFacts, rollout: Rollout, stage: str) -> bool:
    """The fleet still follows the lineage at this stage (tags can change at any time)."""
    return policy.follows(fleet, rollout.root_image_name) and fleet.stage == stage
