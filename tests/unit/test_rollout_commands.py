"""The roll-out's commands, run with an admin's credentials: their usage errors, and rollback,
which puts a fleet back on its recorded image (approve and reject:
tests/tools/test_approval_commands.py). STS and EventBridge are small fakes; AppStream is the
simulation."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError

from image_updater import events
from image_updater.rollout.models import (
    FOLLOWS_TAG,
    PREVIOUS_IMAGE_TAG,
    STAGE_TAG,
)
from rehearsal.appstream import SimulatedAppStream
from tools import rollout_commands
from tools.rollout_commands import ENVIRONMENT, NOTHING_TO_DO, OK, USAGE, CommandError

EXECUTION = "arn:aws:states:eu-west-1:111122223333:execution:ImageUpdater:run-1"
CALLER = "arn:aws:iam::111122223333:user/alice"
OLD = "ImgA-20260501-030000"
NEW = "ImgA-20260601-030000"


class FakeSts:
    def __init__(self, arn: str | None = CALLER) -> None:
        self.arn = arn

    def get_caller_identity(self) -> dict[str, str]:
        if self.arn is None:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetCallerIdentity"
            )
        return {"Arn": self.arn}


class FakeEvents:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}


class FakeSession:
    """What the commands ask of a boto3 Session: `client(name)`. AppStream, when given, is a
    real client (answered by the simulation)."""

    def __init__(self, **clients: Any) -> None:
        self.clients = clients
        self.asked: list[str] = []

    def client(self, name: str) -> Any:
        self.asked.append(name)
        if name not in self.clients:
            raise AssertionError(f"the command asked for a {name} client it does not need")
        return self.clients[name]


def boto3_like(session: FakeSession) -> boto3.Session:
    """The fake where the commands' signatures ask for a boto3 Session."""
    return cast(boto3.Session, session)


# --- main -----------------------------------------------------------------------------------------


def no_session(**kwargs: Any) -> Any:
    raise AssertionError(f"a usage error must not open a session ({kwargs})")


@pytest.mark.parametrize(
    "argv",
    [
        ["rollback"],
        ["rollback", EXECUTION, "--fleet", "Canary"],
        ["approve"],
        ["approve", "run-1"],
        ["reject", "--image", "ImgA"],
        ["approve", EXECUTION, "--fleet", "Canary"],
    ],
    ids=[
        "rollback without --fleet",
        "rollback with an execution",
        "approve without an ARN",
        "approve with a name, not an ARN",
        "reject without an ARN",
        "approve with --fleet",
    ],
)
def test_usage_errors_exit_2_without_touching_aws(argv: list[str]) -> None:
    # When
    code = rollout_commands.main(argv, io.StringIO(), session_factory=no_session)

    # Then
    assert code == USAGE


# --- rollback -------------------------------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[SimulatedAppStream]:
    simulation = SimulatedAppStream()
    with simulation.active():
        simulation.add_image("ImgA")
        simulation.add_image(OLD)
        simulation.add_image(NEW)
        yield simulation


def appstream_session(sim: SimulatedAppStream) -> FakeSession:
    real = boto3.Session(region_name=sim.region, aws_access_key_id="x", aws_secret_access_key="y")
    return FakeSession(appstream=real.client("appstream"), sts=FakeSts(), events=FakeEvents())


def roll_back(session: FakeSession, fleet: str) -> tuple[int, str]:
    out = io.StringIO()
    code = rollout_commands.roll_back(boto3_like(session), fleet, out)
    return code, out.getvalue()


def updater_tags(stage: str = "canary", previous: str | None = OLD) -> dict[str, str]:
    tags = {FOLLOWS_TAG: "ImgA", STAGE_TAG: stage}
    if previous:
        tags[PREVIOUS_IMAGE_TAG] = previous
    return tags


def test_rollback_puts_the_fleet_on_its_recorded_image_and_removes_the_record(
    sim: SimulatedAppStream,
) -> None:
    # Given a canary the updater moved from OLD to NEW
    sim.add_fleet("Canary", image=NEW, tags=updater_tags())
    session = appstream_session(sim)

    # When
    code, said = roll_back(session, "Canary")

    # Then
    assert code == OK
    assert sim.fleet_updates == [("Canary", OLD)]
    assert sim.fleet_tags("Canary") == {FOLLOWS_TAG: "ImgA", STAGE_TAG: "canary"}
    assert f"Fleet Canary: {NEW} -> {OLD}" in said
    (entry,) = session.clients["events"].entries
    assert (entry["Source"], entry["DetailType"]) == (events.SOURCE, events.FLEET_ROLLED_BACK)
    detail = json.loads(entry["Detail"])
    assert detail["fleets"][0]["fleet"] == "Canary"
    assert detail["fleets"][0]["previousImage"] == NEW
    assert (detail["lineageRoot"], detail["by"]) == ("ImgA", CALLER)
    assert entry["Resources"] == [sim.fleets["Canary"]["Arn"]]


def test_rollback_of_a_fleet_on_its_recorded_image_only_removes_the_record(
    sim: SimulatedAppStream,
) -> None:
    # Given someone already put the fleet back by hand
    sim.add_fleet("Canary", image=OLD, tags=updater_tags())

    # When
    code, _ = roll_back(appstream_session(sim), "Canary")

    # Then
    assert code == OK
    assert sim.fleet_updates == []
    assert PREVIOUS_IMAGE_TAG not in sim.fleet_tags("Canary")


def test_rollback_refuses_a_fleet_the_updater_does_not_manage(sim: SimulatedAppStream) -> None:
    # Given a fleet with a previous-image tag but without the updater's Image tag
    sim.add_fleet("Manual", image=NEW, tags={PREVIOUS_IMAGE_TAG: OLD})

    # When
    with pytest.raises(CommandError) as raised:
        roll_back(appstream_session(sim), "Manual")

    # Then
    assert raised.value.exit_code == NOTHING_TO_DO
    assert FOLLOWS_TAG in str(raised.value)
    assert sim.fleet_updates == []
    assert sim.fleet_tags("Manual") == {PREVIOUS_IMAGE_TAG: OLD}


def test_rollback_refuses_a_fleet_without_a_record(sim: SimulatedAppStream) -> None:
    # Given
    sim.add_fleet("Canary", image=NEW, tags=updater_tags(previous=None))

    # When
    with pytest.raises(CommandError) as raised:
        roll_back(appstream_session(sim), "Canary")

    # Then
    assert raised.value.exit_code == NOTHING_TO_DO
    assert PREVIOUS_IMAGE_TAG in str(raised.value)
    assert sim.fleet_updates == []


def test_rollback_of_an_unknown_fleet_is_nothing_to_do(sim: SimulatedAppStream) -> None:
    # When
    with pytest.raises(CommandError) as raised:
        roll_back(appstream_session(sim), "Typo")

    # Then
    assert raised.value.exit_code == NOTHING_TO_DO
    assert "Typo" in str(raised.value)


def test_a_refused_rollback_keeps_the_record(sim: SimulatedAppStream) -> None:
    # Given AppStream refuses the UpdateFleet
    sim.add_fleet("Canary", image=NEW, tags=updater_tags())
    sim.fail("UpdateFleet", "IncompatibleImageException")
    session = appstream_session(sim)

    # When
    with pytest.raises(CommandError) as raised:
        roll_back(session, "Canary")

    # Then the record stays for another try, and nothing is announced
    assert raised.value.exit_code == ENVIRONMENT
    assert sim.fleet_tags("Canary")[PREVIOUS_IMAGE_TAG] == OLD
    assert session.clients["events"].entries == []


def test_main_rolls_back_through_the_session_it_opens(sim: SimulatedAppStream) -> None:
    # Given
    sim.add_fleet("Canary", image=NEW, tags=updater_tags())
    session = appstream_session(sim)

    # When
    code = rollout_commands.main(
        ["rollback", "--fleet", "Canary", "--region", sim.region],
        io.StringIO(),
        session_factory=lambda **_: boto3_like(session),
    )

    # Then
    assert code == OK
    assert sim.fleet_updates == [("Canary", OLD)]
