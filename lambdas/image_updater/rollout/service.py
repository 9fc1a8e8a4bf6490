"""The roll-out's steps: plan, change a stage's fleets, check the canaries, put canaries
back. Each reads what it decides on at the moment it runs (tags, images, fleet states), so a
step retried or run days after the one before it still acts on the account as it is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from image_updater.domain.lineage import Lineage
from image_updater.errors import shortened
from image_updater.integrations.appstream.fleets import FleetNotFound, FleetRefused
from image_updater.models import AVAILABLE, ImageSummary
from image_updater.rollout import policy
from image_updater.rollout.models import (
    CANARIES_UPDATED,
    CANARY,
    CANARY_FIRST,
    CANARY_ROLLED_BACK,
    HELD_BACK,
    NO_FLEETS,
    NOTHING_TO_ROLL_OUT,
    PRODUCTION,
    PRODUCTION_NEXT,
    PRODUCTION_UPDATED,
    RECORD_TAGS,
    SUPERSEDED,
    FleetFacts,
    FleetNote,
    Rollout,
)
from image_updater.rollout.records import RollbackRecord, disagreement


class FleetsPort(Protocol):
    def all_fleets(self) -> list[FleetFacts]: ...
    def fleets(self, names: Sequence[str]) -> list[FleetFacts]: ...
    def set_image(self, name: str, image: str) -> None: ...
    # The rollback record: kept in the ledger, mirrored on the fleet's tags.
    def rollback_record(self, fleet: str) -> RollbackRecord | None: ...
    def record_previous_image(
        self, fleet: FleetFacts, rolled_out: str, execution_id: str
    ) -> RollbackRecord: ...
    def restore_record(self, fleet: FleetFacts, record: RollbackRecord) -> None: ...
    def forget_previous_image(self, fleet: FleetFacts) -> None: ...


class ImagesPort(Protocol):
    def describe(self, name: str) -> ImageSummary: ...
    def lineage_members(self, root: str) -> list[ImageSummary]: ...


class AlarmsPort(Protocol):
    def states(self, names: Sequence[str]) -> dict[str, str | None]: ...


# One fleet's refusal (gone, or AppStream said no) is reported with the others' results; it
# does not stop them. Transient errors (busy, throttled) are raised: the step is retried, and
# a fleet already changed counts as changed.
_REFUSALS = (FleetNotFound, FleetRefused)


def _newer_image(root: str, image: ImageSummary, images: ImagesPort) -> str | None:
    """The lineage's newest AVAILABLE image, if it is newer than `image`."""
    members = images.lineage_members(root)
    newest = Lineage(root=None, members=tuple(members)).newest_available()
    if newest is None or newest.name == image.name or newest.state != AVAILABLE:
        return None
    if (newest.created_time or "") <= (image.created_time or ""):
        return None
    return newest.name


def plan(
    rollout: Rollout,
    images: ImagesPort,
    fleets: FleetsPort,
    *,
    untested_production: bool = False,
) -> Rollout:
    """Which fleets follow the lineage, and which of them can take the new image. Production
    goes first only with `untested_production` (a person approves it, told that nothing tested
    it, or the admin allowed it): otherwise a roll-out without a canary is held back, as is
    one whose canary cannot test the image now."""
    followers = [
        f
        for f in fleets.all_fleets()
        if policy.follows(f, rollout.root_image_name)
        or policy.nearly_follows(f, rollout.root_image_name)
    ]
    if not followers:  # the common case: said without a look at the image
        return rollout.evolve(outcome=NO_FLEETS)
    image = images.describe(rollout.new_image_name)
    rollout = rollout.evolve(new_image_arn=image.arn, platform=image.platform)
    found = policy.plan_fleets(rollout.root_image_name, image, followers)
    rollout = rollout.evolve(
        canaries=found.canaries,
        production=found.production,
        passed_over=found.passed_over,
        held_back=found.held_back,
    )
    if not found.any_follower:
        return rollout.evolve(outcome=NO_FLEETS)
    newer = _newer_image(rollout.root_image_name, image, images)
    if newer:
        return rollout.evolve(outcome=SUPERSEDED, superseded_by=newer)
    if found.held_back:
        return rollout.evolve(outcome=HELD_BACK)
    if found.canaries:
        return rollout.evolve(outcome=CANARY_FIRST)
    if found.production:
        return rollout.evolve(outcome=PRODUCTION_NEXT if untested_production else HELD_BACK)
    return rollout.evolve(outcome=NOTHING_TO_ROLL_OUT)


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
        except _REFUSALS as refusal:
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


def check_canaries(
    rollout: Rollout,
    fleets: FleetsPort,
    alarms: AlarmsPort,
    alarm_names: Sequence[str],
    images: ImagesPort,
) -> Rollout:
    """Whether the canaries ran the image healthily. A canary a newer image's roll-out moved
    on ends this one as superseded (nothing to roll back: it is the newer roll-out's now)."""
    expected = list(rollout.canaries)
    found = fleets.fleets(expected)
    newer = _moved_to_newer(rollout, found, images)
    if newer:
        moved = tuple(
            FleetNote(f.name, CANARY, f"moved to {f.image}, a newer image of the lineage")
            for f in found
            if f.image in newer
        )
        return rollout.evolve(
            outcome=SUPERSEDED,
            superseded_by=max(newer.values()),
            passed_over=rollout.passed_over + moved,
            recheck=False,
        )
    states = alarms.states(list(alarm_names)) if alarm_names else {}
    health = policy.canary_health(found, expected, _image_of(rollout), states)
    checks = rollout.health_checks + 1
    return rollout.evolve(
        healthy=not health.problems,
        problems=health.problems,
        health_checks=checks,
        recheck=health.only_dips and checks <= policy.DIP_RECHECKS,
    )


def _moved_to_newer(
    rollout: Rollout, canaries: Sequence[FleetFacts], images: ImagesPort
) -> dict[str, str]:
    """Images (by name and ARN, to their names) of the lineage newer than the roll-out's that
    a canary runs now; empty when none does."""
    away = [f for f in canaries if not f.runs(rollout.new_image_name, rollout.new_image_arn)]
    if not away:
        return {}
    ours = images.describe(rollout.new_image_name)
    newer: dict[str, str] = {}
    for member in images.lineage_members(rollout.root_image_name):
        if (member.created_time or "") > (ours.created_time or ""):
            newer[member.name] = member.name
            if member.arn:
                newer[member.arn] = member.name
    return {key: name for key, name in newer.items() if any(f.image == key for f in away)}


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
        except _REFUSALS as error:
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


def update_production(rollout: Rollout, images: ImagesPort, fleets: FleetsPort) -> Rollout:
    """The production fleets named when production was planned (the approval e-mail's list)
    and still tagged for it get the image; a fleet tagged since waits for the next roll-out.
    Nothing changes if a newer image of the lineage exists by now (approving an old roll-out
    must never move production backwards)."""
    image = images.describe(rollout.new_image_name)
    newer = _newer_image(rollout.root_image_name, image, images)
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
    except _REFUSALS:
        pass  # the fleet is gone or refuses tags too: its refusal is already reported


def _still(fleet: FleetFacts, rollout: Rollout, stage: str) -> bool:
    """The fleet still follows the lineage at this stage (tags can change at any time)."""
    return policy.follows(fleet, rollout.root_image_name) and fleet.stage == stage


def _image_of(rollout: Rollout) -> ImageSummary:
    return ImageSummary(
        name=rollout.new_image_name,
        arn=rollout.new_image_arn or "",
        state=AVAILABLE,
        platform=rollout.platform,
    )
