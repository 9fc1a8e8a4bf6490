"""The roll-out's steps against in-memory fakes of its ports: a fleet store that changes as
AppStream would (UpdateFleet moves the fleet, tags are kept on it) and can be told to refuse,
an image store, and alarms. Each step must read the account as it is when it runs."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from image_updater.errors import AppStreamBusy
from image_updater.integrations.appstream.fleets import FleetNotFound, FleetRefused
from image_updater.models import ImageSummary
from image_updater.rollout.fleets import update_canaries, update_production
from image_updater.rollout.health import check_canaries
from image_updater.rollout.models import (
    CANARY,
    FOLLOWS_TAG,
    PREVIOUS_IMAGE_TAG,
    PRODUCTION,
    RECORD_TAGS,
    ROLLED_OUT_TAG,
    STAGE_TAG,
    FleetFacts,
    FleetNote,
    Rollout,
)
from image_updater.rollout.outcomes import (
    CANARIES_UPDATED,
    CANARY_FIRST,
    CANARY_ROLLED_BACK,
    HELD_BACK,
    NO_FLEETS,
    NOTHING_TO_ROLL_OUT,
    PRODUCTION_NEXT,
    PRODUCTION_UPDATED,
    SUPERSEDED,
)
from image_updater.rollout.plan import plan
from image_updater.rollout.records import RollbackRecord
from image_updater.rollout.rollback import roll_back_canaries
from tests.unit.rollout_facts import ARNS, NEW, NEWER, NOW, OLD, ROOT

PLATFORM = "WINDOWS_SERVER_2022"


def image_arn(name: str) -> str:
    return f"{ARNS}:image/{name}"


def image(name: str, *, created: str, state: str = "AVAILABLE") -> ImageSummary:
    return ImageSummary(
        name=name, arn=image_arn(name), state=state, created_time=created, platform=PLATFORM
    )


OLD_IMAGE = image(OLD, created="2026-05-01T03:00:00+00:00")
NEW_IMAGE = image(NEW, created="2026-06-01T03:00:00+00:00")


class FakeImages:
    """Images of ImgA's lineage; records what it was asked."""

    def __init__(self, *members: ImageSummary) -> None:
        self.members = list(members or (OLD_IMAGE, NEW_IMAGE))
        self.described = {m.name: m for m in self.members}
        self.asked: list[tuple[str, str]] = []

    def describe(self, name: str) -> ImageSummary:
        self.asked.append(("describe", name))
        return self.described[name]

    def lineage_members(self, root: str) -> list[ImageSummary]:
        self.asked.append(("lineage_members", root))
        return list(self.members)


class FakeFleets:
    """Fleets with their tags, changed as AppStream changes them. `refusals` maps a fleet to
    the error its next UpdateFleet raises."""

    def __init__(self) -> None:
        self.by_name: dict[str, FleetFacts] = {}
        self.calls: list[tuple[str, ...]] = []
        self.refusals: dict[str, Exception] = {}
        self.untag_refusals: dict[str, Exception] = {}  # the same, for the record's removal
        self.records: dict[str, RollbackRecord] = {}  # the ledger's; the tags mirror them

    def add(
        self,
        name: str,
        stage: str | None = CANARY,
        *,
        image: str | None = OLD,
        root: str | None = ROOT,
        state: str = "RUNNING",
        platform: str = PLATFORM,
        previous: str | None = None,
        rolled_out: str | None = None,  # what the earlier roll-out put it on (default: image)
    ) -> FleetFacts:
        tags = {}
        if root is not None:
            tags[FOLLOWS_TAG] = root
        if stage is not None:
            tags[STAGE_TAG] = stage
        if previous is not None:
            # an earlier roll-out's record (to the image the fleet runs now), and its mirror
            self.records[name] = RollbackRecord(
                fleet=name,
                previous_image=previous,
                previous_image_arn=previous if previous.startswith("arn:") else image_arn(previous),
                rolled_out=str(rolled_out or image),
                execution_id="earlier-run",
                recorded_at=NOW.isoformat(),
            )
            tags.update(self.records[name].mirror())
        facts = FleetFacts(
            name=name,
            arn=f"{ARNS}:fleet/{name}",
            fleet_type="ALWAYS_ON",
            state=state,
            platform=platform,
            image_name=image,
            image_arn=image_arn(image) if image else None,
            desired=1,
            running=0 if state == "STOPPED" else 1,
            errors=(),
            max_sessions_per_instance=None,
            tags=tags,
        )
        self.by_name[name] = facts
        return facts

    def retag(self, name: str, **tags: str | None) -> None:
        """What an admin does in the console: `FOLLOWS`/`STAGE` set or (None) removed."""
        keys = {"follows": FOLLOWS_TAG, "stage": STAGE_TAG}
        current = dict(self.by_name[name].tags)
        for key, value in tags.items():
            if value is None:
                current.pop(keys[key], None)
            else:
                current[keys[key]] = value
        self.by_name[name] = self.by_name[name]._replace(tags=current)

    def move(self, name: str, image: str) -> None:
        """Someone else points the fleet at `image`."""
        self.by_name[name] = self.by_name[name]._replace(
            image_name=image, image_arn=image_arn(image)
        )

    def image_of(self, name: str) -> str | None:
        return self.by_name[name].image_name

    def tag_of(self, name: str) -> str | None:
        return self.by_name[name].tags.get(PREVIOUS_IMAGE_TAG)

    def changes(self) -> list[tuple[str, ...]]:
        return [c for c in self.calls if c[0] != "read"]

    # --- the port ---

    def all_fleets(self) -> list[FleetFacts]:
        self.calls.append(("read", "*"))
        return list(self.by_name.values())

    def fleets(self, names: Sequence[str]) -> list[FleetFacts]:
        self.calls.append(("read", *names))
        return [self.by_name[n] for n in names if n in self.by_name]

    def set_image(self, name: str, image: str) -> None:
        self.calls.append(("set_image", name, image))
        if name in self.refusals:
            raise self.refusals.pop(name)
        if name not in self.by_name:
            raise FleetNotFound(f"ResourceNotFoundException: Fleet {name} not found.")
        if image.startswith("arn:"):
            self.by_name[name] = self.by_name[name]._replace(
                image_name=image.rsplit("/", 1)[1], image_arn=image
            )
        else:
            self.move(name, image)

    def rollback_record(self, fleet: str) -> RollbackRecord | None:
        self.calls.append(("read", fleet))
        return self.records.get(fleet)

    def record_previous_image(
        self, fleet: FleetFacts, rolled_out: str, execution_id: str
    ) -> RollbackRecord:
        self.calls.append(("record", fleet.name, str(fleet.image)))
        record = RollbackRecord(
            fleet=fleet.name,
            previous_image=str(fleet.image),
            previous_image_arn=fleet.image_arn,
            rolled_out=rolled_out,
            execution_id=execution_id,
            recorded_at=NOW.isoformat(),
        )
        self._keep(fleet, record)
        return record

    def restore_record(self, fleet: FleetFacts, record: RollbackRecord) -> None:
        self.calls.append(("restore", fleet.name, record.previous_image))
        self._keep(fleet, record)

    def forget_previous_image(self, fleet: FleetFacts) -> None:
        self.calls.append(("forget", fleet.name))
        self.records.pop(fleet.name, None)  # the ledger first, then the mirror
        facts = self._by_arn(fleet.arn)
        if facts.name in self.untag_refusals:
            raise self.untag_refusals.pop(facts.name)
        tags = {k: v for k, v in facts.tags.items() if k not in RECORD_TAGS}
        self.by_name[facts.name] = facts._replace(tags=tags)

    def record_of(self, name: str) -> str | None:
        record = self.records.get(name)
        return record.previous_image if record else None

    def tamper(self, name: str, previous: str) -> None:
        """Someone who may tag the fleet rewrites its PreviousImage tag."""
        facts = self.by_name[name]
        self.by_name[name] = facts._replace(tags={**facts.tags, PREVIOUS_IMAGE_TAG: previous})

    def _keep(self, fleet: FleetFacts, record: RollbackRecord) -> None:
        facts = self._by_arn(fleet.arn)
        self.records[fleet.name] = record
        self.by_name[facts.name] = facts._replace(tags={**facts.tags, **record.mirror()})

    def _by_arn(self, arn: str) -> FleetFacts:
        found = [f for f in self.by_name.values() if f.arn == arn]
        if not found:
            raise FleetNotFound(f"ResourceNotFoundException: Resource {arn} not found.")
        return found[0]


class FakeAlarms:
    def __init__(self, states: dict[str, str | None]) -> None:
        self.known = states
        self.asked: list[list[str]] = []

    def states(self, names: Sequence[str]) -> dict[str, str | None]:
        self.asked.append(list(names))
        return {name: self.known.get(name) for name in names}


def started() -> Rollout:
    return Rollout(root_image_name=ROOT, execution_id="run-1", new_image_name=NEW)


def planned(fleets: FakeFleets, images: FakeImages | None = None) -> Rollout:
    rollout = plan(started(), images or FakeImages(), fleets)
    fleets.calls.clear()
    return rollout


def canaries_updated(fleets: FakeFleets) -> Rollout:
    rollout = update_canaries(planned(fleets), fleets, NOW)
    fleets.calls.clear()
    return rollout


def fleets_of(*names: str, stage: str = CANARY) -> FakeFleets:
    """Given fleets that follow ImgA at `stage` (canaries unless said), each on the root."""
    fleets = FakeFleets()
    for name in names:
        fleets.add(name, stage)
    return fleets


def two_canaries_updated() -> tuple[FakeFleets, Rollout]:
    """Given the canaries CanaryA and CanaryB, which the roll-out moved from OLD to NEW."""
    fleets = fleets_of("CanaryA", "CanaryB")
    return fleets, canaries_updated(fleets)


# --- plan -----------------------------------------------------------------------------------------


def test_no_follower_is_said_without_a_look_at_the_image() -> None:
    # Given fleets, none of which follows ImgA
    fleets, images = FakeFleets(), FakeImages()
    fleets.add("Other", root="ImgB")
    fleets.add("Untagged", root=None, stage=None)

    # When
    rollout = plan(started(), images, fleets)

    # Then
    assert rollout.outcome == NO_FLEETS
    assert images.asked == []
    assert fleets.changes() == []


def test_canary_first_when_a_canary_can_take_the_image() -> None:
    # Given a canary, a production fleet and a STARTING production fleet
    fleets = fleets_of("Canary")
    fleets.add("Prod", PRODUCTION)
    fleets.add("Starting", PRODUCTION, state="STARTING")

    # When
    rollout = plan(started(), FakeImages(), fleets)

    # Then the plan says who gets the image in which stage, and changes nothing
    assert rollout.outcome == CANARY_FIRST
    assert (rollout.canaries, rollout.production) == (("Canary",), ("Prod",))
    assert [n.fleet for n in rollout.passed_over] == ["Starting"]
    assert (rollout.new_image_arn, rollout.platform) == (NEW_IMAGE.arn, PLATFORM)
    assert fleets.changes() == []


def test_a_canary_already_on_the_image_is_still_the_canary_stage() -> None:
    # Given a canary already on the image and a production fleet
    fleets = FakeFleets()
    fleets.add("Canary", image=NEW)
    fleets.add("Prod", PRODUCTION)

    # When
    rollout = plan(started(), FakeImages(), fleets)

    # Then it must still soak and pass the check before production
    assert rollout.outcome == CANARY_FIRST
    assert (rollout.canaries, rollout.production) == (("Canary",), ("Prod",))


@pytest.mark.parametrize(("untested", "outcome"), [(True, PRODUCTION_NEXT), (False, HELD_BACK)])
def test_without_a_canary_production_goes_only_if_untested_production_is_allowed(
    untested: bool, outcome: str
) -> None:
    # Given a production fleet and no canary
    fleets = FakeFleets()
    fleets.add("Prod", PRODUCTION)

    # When
    rollout = plan(started(), FakeImages(), fleets, untested_production=untested)

    # Then
    assert rollout.outcome == outcome
    assert fleets.changes() == []


def test_a_canary_that_cannot_test_the_image_holds_production_back() -> None:
    # Given a STARTING canary and a production fleet, untested production allowed even
    fleets = FakeFleets()
    fleets.add("Canary", state="STARTING")
    fleets.add("Prod", PRODUCTION)

    # When
    rollout = plan(started(), FakeImages(), fleets, untested_production=True)

    # Then
    assert rollout.outcome == HELD_BACK
    assert [n.fleet for n in rollout.held_back] == ["Canary"]
    assert fleets.changes() == []


def test_nothing_to_roll_out_when_every_follower_is_passed_over() -> None:
    # Given followers that cannot take the image
    fleets = FakeFleets()
    fleets.add("Stopping", PRODUCTION, state="STOPPING")
    fleets.add("Linux", PRODUCTION, platform="AMAZON_LINUX2")
    fleets.add("Typo", "prod")

    # When
    rollout = plan(started(), FakeImages(), fleets)

    # Then
    assert rollout.outcome == NOTHING_TO_ROLL_OUT
    assert [n.fleet for n in rollout.passed_over] == ["Linux", "Stopping", "Typo"]


def test_a_newer_available_image_of_the_lineage_supersedes_this_one() -> None:
    # Given the lineage got a newer image while this one waited
    fleets = fleets_of("Canary")
    images = FakeImages(OLD_IMAGE, NEW_IMAGE, image(NEWER, created="2026-06-08T03:00:00+00:00"))

    # When
    rollout = plan(started(), images, fleets)

    # Then
    assert (rollout.outcome, rollout.superseded_by) == (SUPERSEDED, NEWER)


@pytest.mark.parametrize(
    "newer",
    [
        image(NEWER, created="2026-06-08T03:00:00+00:00", state="FAILED"),
        image(NEWER, created="2026-06-08T03:00:00+00:00", state="PENDING"),
        image("ImgA-20260415-030000", created="2026-04-15T03:00:00+00:00"),
    ],
    ids=["newer but failed", "newer but building", "older"],
)
def test_an_image_that_is_not_newer_and_available_does_not_supersede(
    newer: ImageSummary,
) -> None:
    # Given
    fleets = fleets_of("Canary")

    # When
    rollout = plan(started(), FakeImages(OLD_IMAGE, NEW_IMAGE, newer), fleets)

    # Then
    assert (rollout.outcome, rollout.superseded_by) == (CANARY_FIRST, None)


def test_an_older_image_never_supersedes_the_new_one_missing_from_the_lineage_list() -> None:
    # Given the new image is not (yet) listed among the lineage's members: OLD is the newest
    # AVAILABLE one listed
    fleets = fleets_of("Canary")
    images = FakeImages(OLD_IMAGE, NEW_IMAGE)
    images.members = [OLD_IMAGE]

    # When
    rollout = plan(started(), images, fleets)

    # Then the roll-out goes on: fleets are never moved back to an older image
    assert (rollout.outcome, rollout.superseded_by) == (CANARY_FIRST, None)


# --- update_canaries ------------------------------------------------------------------------------


def test_each_canary_records_its_image_before_it_is_changed() -> None:
    # Given two canaries on OLD (and a production fleet the canary step must not touch)
    fleets = fleets_of("CanaryA", "CanaryB")
    fleets.add("Prod", PRODUCTION)
    rollout = planned(fleets)

    # When
    result = update_canaries(rollout, fleets, NOW)

    # Then the previous image is recorded on each fleet BEFORE its UpdateFleet
    assert fleets.changes() == [
        ("record", "CanaryA", OLD),
        ("set_image", "CanaryA", NEW),
        ("record", "CanaryB", OLD),
        ("set_image", "CanaryB", NEW),
    ]
    assert [fleets.image_of(n) for n in ("CanaryA", "CanaryB", "Prod")] == [NEW, NEW, OLD]
    assert [fleets.tag_of(n) for n in ("CanaryA", "CanaryB", "Prod")] == [OLD, OLD, None]
    assert result.updated == (FleetNote("CanaryA", CANARY, OLD), FleetNote("CanaryB", CANARY, OLD))
    assert (result.not_updated, result.outcome) == ((), CANARIES_UPDATED)
    assert result.canaries_updated_at == NOW.isoformat()


def test_a_retried_canary_step_keeps_the_record_of_the_image_before() -> None:
    # Given the step changed CanaryA, then failed on CanaryB (AppStream busy)
    fleets = fleets_of("CanaryA", "CanaryB")
    rollout = planned(fleets)
    fleets.refusals["CanaryB"] = AppStreamBusy("ConcurrentModificationException: busy")
    with pytest.raises(AppStreamBusy):
        update_canaries(rollout, fleets, NOW)
    fleets.calls.clear()

    # When the workflow retries it with the same input
    result = update_canaries(rollout, fleets, NOW)

    # Then CanaryA is neither re-tagged (its record would name the new image) nor updated again
    assert fleets.changes() == [("record", "CanaryB", OLD), ("set_image", "CanaryB", NEW)]
    assert fleets.tag_of("CanaryA") == OLD
    assert result.updated == (FleetNote("CanaryA", CANARY, OLD), FleetNote("CanaryB", CANARY, OLD))


def test_a_transient_error_propagates_so_the_workflow_retries() -> None:
    # Given
    fleets = fleets_of("Canary")
    rollout = planned(fleets)
    fleets.refusals["Canary"] = AppStreamBusy("ConcurrentModificationException: busy")

    # When / Then
    with pytest.raises(AppStreamBusy):
        update_canaries(rollout, fleets, NOW)


@pytest.mark.parametrize(
    "refusal",
    [
        FleetRefused("IncompatibleImageException: the image does not fit"),
        FleetNotFound("ResourceNotFoundException: Fleet CanaryA not found."),
    ],
    ids=["refused", "gone"],
)
def test_a_refused_canary_is_reported_and_does_not_stop_the_others(refusal: Exception) -> None:
    # Given CanaryA's UpdateFleet will be refused
    fleets = fleets_of("CanaryA", "CanaryB")
    rollout = planned(fleets)
    fleets.refusals["CanaryA"] = refusal

    # When
    result = update_canaries(rollout, fleets, NOW)

    # Then
    assert result.not_updated == (FleetNote("CanaryA", CANARY, str(refusal)),)
    assert result.updated == (FleetNote("CanaryB", CANARY, OLD),)
    assert result.any_update_refused
    assert (fleets.image_of("CanaryA"), fleets.image_of("CanaryB")) == (OLD, NEW)


@pytest.mark.parametrize(
    "retag",
    [{"stage": PRODUCTION}, {"stage": None}, {"follows": "ImgB"}, {"follows": None}],
    ids=["now production", "stage removed", "follows another lineage", "opted out"],
)
def test_a_canary_whose_tags_changed_since_the_plan_is_not_touched(
    retag: dict[str, str | None],
) -> None:
    # Given the plan chose two canaries, then an admin changed CanaryA's tags
    fleets = fleets_of("CanaryA", "CanaryB")
    rollout = planned(fleets)
    fleets.retag("CanaryA", **retag)

    # When
    result = update_canaries(rollout, fleets, NOW)

    # Then only CanaryB changes
    assert [c[1] for c in fleets.changes()] == ["CanaryB", "CanaryB"]
    assert (fleets.image_of("CanaryA"), fleets.tag_of("CanaryA")) == (OLD, None)
    assert [n.fleet for n in result.updated] == ["CanaryB"]


def test_a_canary_deleted_since_the_plan_is_not_updated_and_the_others_are() -> None:
    # Given
    fleets = fleets_of("CanaryA", "CanaryB")
    rollout = planned(fleets)
    del fleets.by_name["CanaryA"]

    # When
    result = update_canaries(rollout, fleets, NOW)

    # Then
    assert [n.fleet for n in result.updated] == ["CanaryB"]
    assert all(c[1] != "CanaryA" for c in fleets.changes())


# --- check_canaries -------------------------------------------------------------------------------


def test_healthy_canaries_are_healthy() -> None:
    # Given updated canaries and an OK alarm
    fleets = fleets_of("Canary")
    rollout = canaries_updated(fleets)
    alarms = FakeAlarms({"CanaryErrors": "OK"})

    # When
    result = check_canaries(rollout, fleets, alarms, ["CanaryErrors"], FakeImages())

    # Then
    assert (result.healthy, result.problems) == (True, ())
    assert alarms.asked == [["CanaryErrors"]]


def test_no_alarm_configured_asks_for_none() -> None:
    # Given
    fleets = fleets_of("Canary")
    rollout = canaries_updated(fleets)
    alarms = FakeAlarms({})

    # When
    result = check_canaries(rollout, fleets, alarms, [], FakeImages())

    # Then
    assert result.healthy is True
    assert alarms.asked == []


def test_a_missing_alarm_and_a_moved_canary_are_unhealthy() -> None:
    # Given CanaryA moved by someone else during the soak, and the alarm does not exist
    fleets, rollout = two_canaries_updated()
    fleets.move("CanaryA", OLD)

    # When
    result = check_canaries(rollout, fleets, FakeAlarms({}), ["CanaryErrors"], FakeImages())

    # Then
    assert result.healthy is False
    assert result.problems == (
        f"CanaryA: now on {OLD}, not {NEW} (changed by someone else; left as it is)",
        "alarm CanaryErrors: no such metric alarm",
    )


# --- roll_back_canaries ---------------------------------------------------------------------------


def test_each_changed_canary_goes_back_to_its_recorded_image_and_the_record_is_removed() -> None:
    # Given two canaries updated from different images, found unhealthy
    fleets = FakeFleets()
    fleets.add("CanaryA")
    fleets.add("CanaryB", image="ImgA-20260415-030000")
    rollout = canaries_updated(fleets)

    # When
    result = roll_back_canaries(rollout, fleets)

    # Then each goes back by its image's ARN (the record's: a shared image has no other name)
    assert fleets.changes() == [
        ("set_image", "CanaryA", image_arn(OLD)),
        ("forget", "CanaryA"),
        ("set_image", "CanaryB", image_arn("ImgA-20260415-030000")),
        ("forget", "CanaryB"),
    ]
    assert (fleets.image_of("CanaryA"), fleets.image_of("CanaryB")) == (
        OLD,
        "ImgA-20260415-030000",
    )
    assert (fleets.tag_of("CanaryA"), fleets.tag_of("CanaryB")) == (None, None)
    assert result.rolled_back == (
        FleetNote("CanaryA", CANARY, OLD),
        FleetNote("CanaryB", CANARY, "ImgA-20260415-030000"),
    )
    assert (result.not_updated, result.outcome) == ((), CANARY_ROLLED_BACK)


def test_a_canary_moved_by_someone_else_is_left_alone() -> None:
    # Given CanaryA was put on another image during the soak
    fleets, rollout = two_canaries_updated()
    fleets.move("CanaryA", "Hotfix")

    # When
    result = roll_back_canaries(rollout, fleets)

    # Then it keeps its image and its record; only CanaryB goes back
    assert (fleets.image_of("CanaryA"), fleets.tag_of("CanaryA")) == ("Hotfix", OLD)
    assert [c[1] for c in fleets.changes()] == ["CanaryB", "CanaryB"]
    assert result.not_updated == (
        FleetNote("CanaryA", CANARY, "left on Hotfix: changed by someone else"),
    )
    assert [n.fleet for n in result.rolled_back] == ["CanaryB"]


def test_a_canary_without_a_record_is_reported_not_guessed() -> None:
    # Given the updater's record is missing (its mirror on the fleet is left)
    fleets = fleets_of("Canary")
    rollout = canaries_updated(fleets)
    fleets.records.clear()
    fleets.calls.clear()

    # When
    result = roll_back_canaries(rollout, fleets)

    # Then
    assert fleets.changes() == []
    assert fleets.image_of("Canary") == NEW
    assert result.rolled_back == ()
    assert result.not_updated == (
        FleetNote(
            "Canary", CANARY, "not rolled back: the updater holds no record of its previous image"
        ),
    )


def test_a_canary_whose_tag_was_rewritten_is_not_rolled_back_anywhere() -> None:
    # Given the updater recorded OLD for CanaryA; someone rewrote its PreviousImage tag
    fleets, rollout = two_canaries_updated()
    fleets.tamper("CanaryA", "arn:aws:appstream:eu-west-1:444455556666:image/Planted")

    # When
    result = roll_back_canaries(rollout, fleets)

    # Then CanaryA stays on NEW with its record, the refusal names both values; CanaryB
    # goes back as recorded
    assert fleets.image_of("CanaryA") == NEW and fleets.record_of("CanaryA") == OLD
    assert [c[1] for c in fleets.changes()] == ["CanaryB", "CanaryB"]
    ((fleet, note),) = [(n.fleet, n.note) for n in result.not_updated]
    assert fleet == "CanaryA" and note is not None
    assert note.startswith(f"not rolled back, left on {NEW}: its tags say")
    assert "Planted" in note and f"recorded '{OLD}'" in note
    assert [n.fleet for n in result.rolled_back] == ["CanaryB"]


def test_a_record_of_another_change_is_not_rolled_back_to() -> None:
    # Given the fleet's record (and its mirror) is of a change to another image
    fleets = FakeFleets()
    fleets.add("Canary", image=NEW, previous=OLD, rolled_out=NEWER)
    rollout = started().evolve(updated=(FleetNote("Canary", CANARY, OLD),))

    # When
    result = roll_back_canaries(rollout, fleets)

    # Then
    assert fleets.changes() == [] and fleets.image_of("Canary") == NEW
    assert [n.note for n in result.not_updated] == [
        f"not rolled back: the updater's record is of its change to {NEWER}"
    ]


def test_a_refused_rollback_is_reported_with_the_refusals_of_the_update() -> None:
    # Given CanaryA was refused at update, CanaryB updated; CanaryB's rollback is refused
    fleets = fleets_of("CanaryA", "CanaryB")
    rollout = planned(fleets)
    fleets.refusals["CanaryA"] = FleetRefused("IncompatibleImageException: no")
    rollout = update_canaries(rollout, fleets, NOW)
    fleets.refusals["CanaryB"] = FleetRefused("OperationNotPermittedException: no")

    # When
    result = roll_back_canaries(rollout, fleets)

    # Then both are listed, and CanaryB keeps its record for a later rollback
    assert [(n.fleet, n.note) for n in result.not_updated] == [
        ("CanaryA", "IncompatibleImageException: no"),
        ("CanaryB", "OperationNotPermittedException: no"),
    ]
    assert fleets.tag_of("CanaryB") == OLD
    assert result.rolled_back == ()


def test_only_canaries_are_rolled_back() -> None:
    # Given a roll-out whose production fleet was also updated (as the state may say)
    fleets = FakeFleets()
    fleets.add("Canary", image=NEW, previous=OLD)
    fleets.add("Prod", PRODUCTION, image=NEW, previous=OLD)
    rollout = started().evolve(
        updated=(FleetNote("Canary", CANARY, OLD), FleetNote("Prod", PRODUCTION, OLD))
    )

    # When
    roll_back_canaries(rollout, fleets)

    # Then
    assert (fleets.image_of("Canary"), fleets.image_of("Prod")) == (OLD, NEW)


def test_a_retried_rollback_counts_the_canary_it_put_back_before_as_rolled_back() -> None:
    # Given the rollback put CanaryA back, then AppStream was busy for CanaryB
    fleets, rollout = two_canaries_updated()
    fleets.refusals["CanaryB"] = AppStreamBusy("ConcurrentModificationException: busy")
    with pytest.raises(AppStreamBusy):
        roll_back_canaries(rollout, fleets)

    # When the workflow retries the step with the same input
    result = roll_back_canaries(rollout, fleets)

    # Then both count as rolled back, and nothing asks the admin to check CanaryA
    assert [n.fleet for n in result.rolled_back] == ["CanaryA", "CanaryB"]
    assert result.not_updated == ()


def test_a_retried_rollback_removes_the_record_the_first_attempt_could_not() -> None:
    # Given the rollback put the canary back, then AppStream was busy removing its record
    fleets = fleets_of("Canary")
    rollout = canaries_updated(fleets)
    fleets.untag_refusals["Canary"] = AppStreamBusy("ConcurrentModificationException: busy")
    with pytest.raises(AppStreamBusy):
        roll_back_canaries(rollout, fleets)
    fleets.calls.clear()

    # When the workflow retries the step
    result = roll_back_canaries(rollout, fleets)

    # Then the record is removed now (its image stays protected from retention otherwise),
    # without a second UpdateFleet
    assert fleets.changes() == [("forget", "Canary")]
    assert (fleets.image_of("Canary"), fleets.tag_of("Canary")) == (OLD, None)
    assert result.rolled_back == (FleetNote("Canary", CANARY, OLD),)


def test_a_canary_recorded_by_arn_goes_back_by_arn() -> None:
    # Given a canary whose previous image was a shared one, known by ARN
    shared = f"{ARNS.replace('111122223333', '444455556666')}:image/Shared"
    fleets = FakeFleets()
    fleets.add("Canary", image=NEW, previous=shared)
    rollout = started().evolve(
        new_image_arn=NEW_IMAGE.arn, updated=(FleetNote("Canary", CANARY, shared),)
    )

    # When
    roll_back_canaries(rollout, fleets)

    # Then
    assert ("set_image", "Canary", shared) in fleets.changes()


# --- update_production ----------------------------------------------------------------------------


def approved(fleets: FakeFleets) -> Rollout:
    """Canary stage done: the canary runs NEW; the approval came."""
    rollout = canaries_updated(fleets)
    return rollout.evolve(approval={"decision": "APPROVED", "by": "alice"})


def test_production_changes_only_the_approved_fleets_still_tagged() -> None:
    # Given ProdA and ProdB approved; then ProdB was untagged and ProdC tagged production
    fleets = fleets_of("Canary")
    fleets.add("ProdA", PRODUCTION)
    fleets.add("ProdB", PRODUCTION)
    fleets.add("ProdC", stage=None)
    rollout = approved(fleets)
    assert rollout.production == ("ProdA", "ProdB")
    fleets.retag("ProdB", follows=None)
    fleets.retag("ProdC", stage="production")

    # When
    result = update_production(rollout, FakeImages(), fleets)

    # Then ProdB dropped out, ProdC (never approved) waits for the next approved roll-out
    assert result.outcome == PRODUCTION_UPDATED
    assert result.production == ("ProdA",)
    assert [fleets.image_of(n) for n in ("ProdA", "ProdB", "ProdC")] == [NEW, OLD, OLD]
    assert [fleets.tag_of(n) for n in ("ProdA", "ProdB", "ProdC")] == [OLD, None, None]
    assert result.updated == (
        FleetNote("Canary", CANARY, OLD),
        FleetNote("ProdA", PRODUCTION, OLD),
    )
    assert (
        FleetNote(
            "ProdC", PRODUCTION, "tagged after the approval: waits for the next approved roll-out"
        )
        in result.passed_over
    )
    assert (
        FleetNote("ProdB", PRODUCTION, "no longer tagged for production: left as it is")
        in result.passed_over
    )
    # the canary is not touched again
    assert all(c[1] != "Canary" for c in fleets.changes())


def test_production_records_each_fleets_image_before_it_changes() -> None:
    # Given
    fleets = FakeFleets()
    fleets.add("Prod", PRODUCTION)
    rollout = planned(fleets)

    # When
    update_production(rollout, FakeImages(), fleets)

    # Then
    assert fleets.changes() == [("record", "Prod", OLD), ("set_image", "Prod", NEW)]


def test_a_newer_image_stops_production_before_any_change() -> None:
    # Given a newer image of the lineage appeared while the approval waited
    fleets = fleets_of("Canary")
    fleets.add("Prod", PRODUCTION)
    rollout = approved(fleets)
    images = FakeImages(OLD_IMAGE, NEW_IMAGE, image(NEWER, created="2026-06-08T03:00:00+00:00"))

    # When
    result = update_production(rollout, images, fleets)

    # Then production is never moved to the older image
    assert (result.outcome, result.superseded_by) == (SUPERSEDED, NEWER)
    assert fleets.changes() == []
    assert fleets.image_of("Prod") == OLD


def test_a_refused_production_fleet_is_reported_and_the_others_are_updated() -> None:
    # Given
    fleets = fleets_of("ProdA", "ProdB", stage=PRODUCTION)
    rollout = planned(fleets)
    fleets.refusals["ProdA"] = FleetRefused("IncompatibleImageException: no")

    # When
    result = update_production(rollout, FakeImages(), fleets)

    # Then
    assert result.not_updated == (FleetNote("ProdA", PRODUCTION, "IncompatibleImageException: no"),)
    assert result.updated == (FleetNote("ProdB", PRODUCTION, OLD),)


def test_production_passed_over_keeps_the_plans_canary_notes_and_reads_the_rest_again() -> None:
    # Given a canary passed over at plan time (STOPPING), a production fleet STARTING at plan
    # time that is RUNNING by approval, and one that became STOPPING
    fleets = fleets_of("Canary")
    fleets.add("ProdLate", PRODUCTION, state="STARTING")
    fleets.add("ProdNow", PRODUCTION)
    rollout = approved(fleets)
    fleets.by_name["ProdLate"] = fleets.by_name["ProdLate"]._replace(state="RUNNING")
    fleets.by_name["ProdNow"] = fleets.by_name["ProdNow"]._replace(state="STOPPING")

    # When
    result = update_production(rollout, FakeImages(), fleets)

    # Then
    # (ProdLate was not in the approved set: it could not take the image then)
    assert [(n.fleet, n.stage) for n in result.passed_over] == [
        ("ProdNow", PRODUCTION),
        ("ProdLate", PRODUCTION),
    ]
    assert "waits for the next approved roll-out" in (result.passed_over[1].note or "")
    assert result.updated_in(PRODUCTION) == []


def test_a_retried_production_step_counts_the_fleet_it_changed_before_as_changed() -> None:
    # Given the production step changed ProdA, then AppStream was busy for ProdB
    fleets = fleets_of("ProdA", "ProdB", stage=PRODUCTION)
    rollout = planned(fleets)
    fleets.refusals["ProdB"] = AppStreamBusy("ConcurrentModificationException: busy")
    with pytest.raises(AppStreamBusy):
        update_production(rollout, FakeImages(), fleets)

    # When the workflow retries the step with the same input
    result = update_production(rollout, FakeImages(), fleets)

    # Then both count as changed, each with the image it ran before (the e-mail lists both,
    # with a rollback command each)
    assert result.updated == (
        FleetNote("ProdA", PRODUCTION, OLD),
        FleetNote("ProdB", PRODUCTION, OLD),
    )
    assert result.passed_over == ()


def test_a_production_fleet_moved_to_the_image_by_hand_is_not_claimed_as_changed() -> None:
    # Given ProdA was changed by an earlier roll-out (its record names that roll-out's image
    # before), then an admin put it on NEW by hand before this roll-out's approval
    earlier = "ImgA-20260301-030000"
    fleets = FakeFleets()
    fleets.add("ProdA", PRODUCTION, image=NEW, previous=earlier, rolled_out=OLD)
    fleets.add("ProdB", PRODUCTION)
    rollout = planned(fleets)
    assert rollout.production == ("ProdB",)

    # When (the step's first and only attempt)
    result = update_production(rollout, FakeImages(), fleets)

    # Then only ProdB was changed by this roll-out; ProdA is reported as it is
    assert result.updated == (FleetNote("ProdB", PRODUCTION, OLD),)
    assert (fleets.image_of("ProdA"), fleets.tag_of("ProdA")) == (NEW, earlier)
    assert [(n.fleet, n.note) for n in result.passed_over] == [("ProdA", "already on this image")]


@pytest.mark.parametrize("earlier", [None, "ImgA-20260301-030000"])
def test_a_refused_fleet_keeps_the_rollback_record_it_had(earlier: str | None) -> None:
    # Given ProdA carries an earlier roll-out's record (or none), and refuses the new image
    fleets = FakeFleets()
    fleets.add("ProdA", PRODUCTION, previous=earlier)
    if earlier:
        facts = fleets.by_name["ProdA"]
        fleets.by_name["ProdA"] = facts._replace(tags={**facts.tags, ROLLED_OUT_TAG: OLD})
    before = dict(fleets.by_name["ProdA"].tags)
    record_before = fleets.records.get("ProdA")
    rollout = planned(fleets)
    fleets.refusals["ProdA"] = FleetRefused("IncompatibleImageException: no")

    # When
    update_production(rollout, FakeImages(), fleets)

    # Then its record (the ledger's, and its mirror) is what it was: the earlier rollback
    # target is not lost
    assert fleets.by_name["ProdA"].tags == before
    assert fleets.records.get("ProdA") == record_before
