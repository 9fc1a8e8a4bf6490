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
    ROLLED_OUT_TAG,
    STAGE_TAG,
)
from image_updater.rollout.records import RollbackRecord, RollbackRecords
from rehearsal.appstream import SimulatedAppStream
from tests.ledger_table import create_ledger_table
from tools.run_now import rollback
from tools.run_now.cli import rollout_main
from tools.run_now.errors import (
    ENVIRONMENT,
    NOTHING_TO_DO,
    OK,
    TAMPERED,
    USAGE,
    ToolError,
)

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
        self.configs: dict[str, Any] = {}

    def client(self, name: str, config: Any = None) -> Any:
        self.asked.append(name)
        self.configs[name] = config
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
    code = rollout_main(argv, io.StringIO(), session_factory=no_session)

    # Then
    assert code == USAGE


# --- rollback -------------------------------------------------------------------------------------


TABLE = "updater-ledger"
SHARING_ACCOUNT = "444455556666"


class FakeCloudFormation:
    def describe_stacks(self, *, StackName: str) -> dict[str, Any]:
        outputs = [{"OutputKey": "LedgerTableName", "OutputValue": TABLE}]
        return {"Stacks": [{"StackName": StackName, "Outputs": outputs}]}


@pytest.fixture
def sim() -> Iterator[SimulatedAppStream]:
    """AppStream simulated; the stack's ledger table in moto's DynamoDB."""
    from moto import mock_aws

    simulation = SimulatedAppStream()
    with mock_aws(config={"core": {"reset_boto3_session": False}}), simulation.active():
        create_ledger_table(_dynamodb(), TABLE)
        simulation.add_image("ImgA")
        simulation.add_image(OLD)
        simulation.add_image(NEW)
        yield simulation


def _real() -> boto3.Session:
    return boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


def _dynamodb() -> Any:
    return _real().client("dynamodb")


def appstream_session(sim: SimulatedAppStream) -> FakeSession:
    return FakeSession(
        appstream=_real().client("appstream"),
        dynamodb=_dynamodb(),
        cloudformation=FakeCloudFormation(),
        sts=FakeSts(),
        events=FakeEvents(),
    )


def roll_back(session: FakeSession, fleet: str) -> tuple[int, str]:
    out = io.StringIO()
    code = rollback.roll_back(boto3_like(session), fleet, out, table=TABLE)
    return code, out.getvalue()


def updater_tags(
    stage: str = "canary", previous: str | None = OLD, rolled_out: str = NEW
) -> dict[str, str]:
    tags = {FOLLOWS_TAG: "ImgA", STAGE_TAG: stage}
    if previous:
        tags[PREVIOUS_IMAGE_TAG] = previous
        tags[ROLLED_OUT_TAG] = rolled_out
    return tags


def records() -> RollbackRecords:
    return RollbackRecords(TABLE, _dynamodb())


def recorded(
    sim: SimulatedAppStream, fleet: str, previous: str = OLD, rolled_out: str = NEW
) -> RollbackRecord:
    """The updater's record of its change of `fleet` (what rollout_fleets writes)."""
    arn = previous if previous.startswith("arn:") else sim.images[previous]["Arn"]
    record = RollbackRecord(
        fleet=fleet,
        previous_image=previous,
        previous_image_arn=arn,
        rolled_out=rolled_out,
        execution_id="run-1",
        recorded_at="2026-06-01T04:00:00+00:00",
    )
    records().put(record)
    return record


def canary_moved_from_old_to_new(sim: SimulatedAppStream) -> FakeSession:
    """Given-step: the fleet Canary, which the updater moved from OLD to NEW and recorded;
    the session the admin runs the command with."""
    sim.add_fleet("Canary", image=NEW, tags=updater_tags())
    recorded(sim, "Canary")
    return appstream_session(sim)


def test_rollback_puts_the_fleet_on_its_recorded_image_and_removes_the_record(
    sim: SimulatedAppStream,
) -> None:
    # Given a canary the updater moved from OLD to NEW
    session = canary_moved_from_old_to_new(sim)

    # When
    code, said = roll_back(session, "Canary")

    # Then
    assert code == OK
    assert sim.fleet_updates == [("Canary", OLD)]
    assert sim.fleet_tags("Canary") == {FOLLOWS_TAG: "ImgA", STAGE_TAG: "canary"}
    assert records().get("Canary") is None
    assert f"Fleet Canary: {NEW} -> {OLD}" in said
    (entry,) = session.clients["events"].entries
    assert (entry["Source"], entry["DetailType"]) == (events.SOURCE, events.FLEET_ROLLED_BACK)
    detail = json.loads(entry["Detail"])
    assert detail["fleets"][0]["fleet"] == "Canary"
    assert detail["fleets"][0]["previousImage"] == NEW
    assert (detail["lineageRoot"], detail["by"]) == ("ImgA", CALLER)
    assert entry["Resources"] == [sim.fleets["Canary"]["Arn"]]


def test_rollback_asks_for_an_appstream_client_that_sends_each_change_once(
    sim: SimulatedAppStream,
) -> None:
    # Given a canary the updater moved from OLD to NEW
    session = canary_moved_from_old_to_new(sim)

    # When
    roll_back(session, "Canary")

    # Then UpdateFleet and the tagging are never re-sent by the SDK behind the record check
    assert session.configs["appstream"].retries["total_max_attempts"] == 1


def test_rollback_of_a_fleet_on_its_recorded_image_only_removes_the_record(
    sim: SimulatedAppStream,
) -> None:
    # Given someone already put the fleet back by hand
    sim.add_fleet("Canary", image=OLD, tags=updater_tags())
    recorded(sim, "Canary")

    # When
    code, _ = roll_back(appstream_session(sim), "Canary")

    # Then
    assert code == OK
    assert sim.fleet_updates == []
    assert PREVIOUS_IMAGE_TAG not in sim.fleet_tags("Canary")
    assert records().get("Canary") is None


def test_rollback_refuses_a_fleet_the_updater_does_not_manage(sim: SimulatedAppStream) -> None:
    # Given a fleet with a previous-image tag but without the updater's Image tag
    sim.add_fleet("Manual", image=NEW, tags={PREVIOUS_IMAGE_TAG: OLD})

    # When
    with pytest.raises(ToolError) as raised:
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
    with pytest.raises(ToolError) as raised:
        roll_back(appstream_session(sim), "Canary")

    # Then
    assert raised.value.exit_code == NOTHING_TO_DO
    assert "no recorded previous image in the updater's ledger" in str(raised.value)
    assert sim.fleet_updates == []


def test_rollback_never_takes_its_target_from_the_fleets_tags(sim: SimulatedAppStream) -> None:
    # Given a fleet whose tags name a previous image, but the updater recorded none
    sim.add_fleet("Canary", image=NEW, tags=updater_tags())

    # When
    with pytest.raises(ToolError) as raised:
        roll_back(appstream_session(sim), "Canary")

    # Then nothing moves
    assert raised.value.exit_code == NOTHING_TO_DO
    assert sim.fleet_updates == []


@pytest.mark.parametrize(
    "tags",
    [
        updater_tags(previous="ImgA"),
        updater_tags(rolled_out="ImgA"),
        updater_tags(previous=None),
    ],
    ids=["previous image rewritten", "rolled-out image rewritten", "tags removed"],
)
def test_rollback_refuses_a_fleet_whose_tags_disagree_with_the_record(
    sim: SimulatedAppStream, tags: dict[str, str]
) -> None:
    # Given the updater recorded OLD, and someone who may tag the fleet changed its tags
    sim.add_fleet("Canary", image=NEW, tags=updater_tags())
    record = recorded(sim, "Canary")
    sim.set_fleet_tags("Canary", tags)

    # When
    code = rollout_main(
        ["rollback", "--fleet", "Canary"],
        io.StringIO(),
        session_factory=lambda **_: boto3_like(appstream_session(sim)),
    )

    # Then the command refuses with its own exit code; the fleet is not moved, the record kept
    assert code == TAMPERED
    assert sim.fleet_updates == []
    assert sim.fleets["Canary"]["ImageName"] == NEW
    assert records().get("Canary") == record


def test_rollback_to_a_shared_image_goes_by_its_arn(sim: SimulatedAppStream) -> None:
    # Given a fleet the updater moved off an image another account shares with this one
    shared = sim.add_image("Partner", visibility="SHARED", owner_account=SHARING_ACCOUNT)
    sim.add_fleet("Canary", image=NEW, tags=updater_tags(previous=shared["Arn"]))
    recorded(sim, "Canary", previous=shared["Arn"])

    # When
    code, said = roll_back(appstream_session(sim), "Canary")

    # Then it is on the shared image again
    assert code == OK
    assert sim.fleet_updates == [("Canary", "Partner")]
    assert sim.fleets["Canary"]["ImageArn"] == shared["Arn"]
    assert f"-> {shared['Arn']}" in said


def test_rollback_of_an_unknown_fleet_is_nothing_to_do(sim: SimulatedAppStream) -> None:
    # When
    with pytest.raises(ToolError) as raised:
        roll_back(appstream_session(sim), "Typo")

    # Then
    assert raised.value.exit_code == NOTHING_TO_DO
    assert "Typo" in str(raised.value)


def test_a_refused_rollback_keeps_the_record(sim: SimulatedAppStream) -> None:
    # Given AppStream refuses the UpdateFleet
    sim.add_fleet("Canary", image=NEW, tags=updater_tags())
    record = recorded(sim, "Canary")
    sim.fail("UpdateFleet", "IncompatibleImageException")
    session = appstream_session(sim)

    # When
    with pytest.raises(ToolError) as raised:
        roll_back(session, "Canary")

    # Then the record stays for another try, and nothing is announced
    assert raised.value.exit_code == ENVIRONMENT
    assert sim.fleet_tags("Canary")[PREVIOUS_IMAGE_TAG] == OLD
    assert records().get("Canary") == record
    assert session.clients["events"].entries == []


def test_a_recorded_image_that_is_gone_is_said_so_not_taken_for_a_missing_fleet(
    sim: SimulatedAppStream,
) -> None:
    # Given the recorded previous image was deleted since
    sim.add_fleet("Canary", image=NEW, tags=updater_tags())
    old_arn = recorded(sim, "Canary", previous=OLD).target
    _real().client("appstream").delete_image(Name=OLD)

    # When
    with pytest.raises(ToolError) as raised:
        roll_back(appstream_session(sim), "Canary")

    # Then the image is named as what was not found, and the fleet is left as it is
    assert f"image {old_arn} was not found, so fleet Canary was left as it is" in str(raised.value)
    assert "no longer exists" not in str(raised.value)
    assert sim.fleets["Canary"]["ImageName"] == NEW


def test_main_rolls_back_through_the_session_it_opens(sim: SimulatedAppStream) -> None:
    # Given
    sim.add_fleet("Canary", image=NEW, tags=updater_tags())
    recorded(sim, "Canary")
    session = appstream_session(sim)

    # When
    code = rollout_main(
        ["rollback", "--fleet", "Canary", "--region", sim.region],
        io.StringIO(),
        session_factory=lambda **_: boto3_like(session),
    )

    # Then
    assert code == OK
    assert sim.fleet_updates == [("Canary", OLD)]
