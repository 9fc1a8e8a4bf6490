"""run-now status against a simulated account: AppStream answered at the HTTP layer by the
simulation (`rehearsal.appstream`), CloudFormation, DynamoDB (the ledger), EventBridge Scheduler,
Step Functions and Service Quotas by moto. Each test sets one state and reads the command's
output and exit code."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import redirect_stderr
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.servicequotas.models import ServiceQuotasBackend

from image_updater import clock
from image_updater.approval.ledger import ApprovalLedger
from image_updater.breaker.ledger import BreakerLedger
from image_updater.domain import naming
from image_updater.rollout.models import FOLLOWS_TAG, STAGE_TAG
from image_updater.update.ledger import UpdateLedger
from rehearsal.appstream import NETWORK_FAILURE, SimulatedAppStream
from tests.tools.steps import stack_with_outputs
from tools import run_now
from tools.run_now.aws import DEFAULT_STACK
from tools.run_now.errors import ATTENTION, ENVIRONMENT, OK, USAGE
from tools.run_now.status import QUOTAS, next_run

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
REGION = "us-east-1"
TABLE = "UpdaterLedger"
SCHEDULE = "ImageUpdaterSchedule"
FRESH = NOW - timedelta(days=12)  # a base image released 12 days ago


@dataclass
class Account:
    sim: SimulatedAppStream
    state_machine_arn: str

    def derived(self, root: str, built: datetime, *, state: str = "AVAILABLE", **extra: Any) -> str:
        """An image the updater built from `root` (its name, description and tags)."""
        name = naming.derived_image_name(root, built)
        self.sim.add_image(
            name,
            state=state,
            created_time=built,
            description=naming.new_image_description(root, built),
            tags=naming.new_image_tags({}, root, root),
            **extra,
        )
        return name

    def run(self) -> str:
        started = boto3.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn, name="run-1"
        )
        return str(started["executionArn"])


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    """All fine: ImgA and ImgB, each updated yesterday (agent the latest, base image 12 days
    old), a canary and a production fleet on ImgA's newest image, the schedule on."""
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    sim = SimulatedAppStream(clock=lambda: NOW)
    with mock_aws(), sim.active():
        for root in ("ImgA", "ImgB"):
            sim.add_image(root, created_time=NOW - timedelta(days=60), base_image_released=FRESH)
        newest = {
            root: Account(sim, "").derived(
                root,
                NOW - timedelta(days=1),
                base_image_released=FRESH,
                agent_version="1.1.1200",
                latest_agent=True,
            )
            for root in ("ImgA", "ImgB")
        }
        sim.add_fleet(
            "Canary", image=newest["ImgA"], tags={FOLLOWS_TAG: "ImgA", STAGE_TAG: "canary"}
        )
        sim.add_fleet(
            "Prod", image=newest["ImgA"], tags={FOLLOWS_TAG: "ImgA", STAGE_TAG: "production"}
        )
        sim.add_fleet("Unrelated", image="ImgB")
        machine = _deploy()
        yield Account(sim, machine)


def _deploy() -> str:
    """The stack's outputs, its ledger table, schedule and state machine, as deployed."""
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    role = "arn:aws:iam::123456789012:role/updater"
    machine = boto3.client("stepfunctions").create_state_machine(
        name="ImageUpdater",
        definition=json.dumps(
            {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
        ),
        roleArn=role,
    )["stateMachineArn"]
    boto3.client("scheduler").create_schedule(
        Name=SCHEDULE,
        ScheduleExpression="cron(0 3 * * ? *)",
        ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": machine, "RoleArn": role, "Input": "{}"},
        State="ENABLED",
    )
    outputs = {
        "StateMachineArn": machine,
        "ConfiguredImages": "ImgA,ImgB",
        "ScheduleName": SCHEDULE,
        "LedgerTableName": TABLE,
    }
    stack_with_outputs(outputs)
    return str(machine)


def status(*extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        code = run_now.main(["status", *extra], out=out, session_factory=boto3.Session)
    return code, out.getvalue(), err.getvalue()


def reasons(*extra: str) -> tuple[int, list[dict[str, Any]]]:
    code, printed, errors = status("--json", *extra)
    assert not errors
    return code, json.loads(printed)["reasons"]


def test_all_fine_exits_0_and_shows_each_image(account: Account) -> None:
    code, printed, errors = status()

    assert (code, errors) == (OK, "")
    newest = naming.derived_image_name("ImgA", NOW - timedelta(days=1))
    assert f"newest image:  {newest} (AVAILABLE, created 2026-12-03 09:30 UTC)" in printed
    assert "base image released 2026-11-22, 12 days ago (threshold 45)" in printed
    assert "agent:         1.1.1200, the latest" in printed
    assert f"Canary (canary, RUNNING) runs {newest}: the newest" in printed
    assert "ImgB\n" in printed and "none follow it" in printed
    # the schedule's next run: 03:00 in Paris (UTC+1 in December), the next day
    assert (
        f"Schedule {SCHEDULE}: ENABLED, cron(0 3 * * ? *) (Europe/Paris); "
        "next run: 2026-12-05 02:00 UTC"
    ) in printed
    assert "Circuit breaker: closed, 0 failed scheduled runs in a row" in printed
    assert printed.endswith("Nothing needs a person.\n")


def test_update_in_progress_is_shown_and_stuck_only_after_the_threshold(account: Account) -> None:
    # Given an update of ImgA started 5 hours ago, still building
    building = account.derived("ImgA", NOW - timedelta(hours=5), state="PENDING")

    code, printed, _ = status()
    # Then it is shown, and nothing needs a person yet
    assert code == OK
    assert f"update:        in progress: {building} (PENDING" in printed
    # but past --stuck-after-hours it is stuck
    code, found = reasons("--stuck-after-hours", "4")
    assert code == ATTENTION
    assert [(r["code"], r["image"]) for r in found] == [("UPDATE_STUCK", "ImgA")]
    assert f"{building} has been PENDING for 5 hours (more than 4)" in found[0]["message"]


def test_a_failed_update_needs_a_person_until_a_newer_image_is_available(
    account: Account,
) -> None:
    failed = account.derived("ImgB", NOW - timedelta(hours=3), state="FAILED")

    code, found = reasons()
    assert code == ATTENTION
    assert [(r["code"], r["image"]) for r in found] == [("UPDATE_FAILED", "ImgB")]
    assert failed in found[0]["message"]

    # When a later update succeeds, the failure is history
    account.derived("ImgB", NOW - timedelta(hours=1))
    assert reasons() == (OK, [])


def test_a_failed_update_retried_since_is_not_news(account: Account) -> None:
    account.derived("ImgB", NOW - timedelta(hours=3), state="FAILED")
    account.derived("ImgB", NOW - timedelta(hours=1), state="PENDING")

    assert reasons() == (OK, [])


def test_a_report_owed_is_listed(account: Account) -> None:
    newest = naming.derived_image_name("ImgA", NOW - timedelta(days=1))
    UpdateLedger(TABLE, boto3.client("dynamodb")).expect_report("ImgA", newest, NOW)

    code, printed, _ = status()

    assert code == OK  # the next run sends it
    assert f"reports owed:  {newest}" in printed
    document = json.loads(status("--json")[1])
    assert document["images"][0]["reportsOwed"] == [newest]
    assert document["images"][1]["reportsOwed"] == []


def test_a_fleet_behind_is_shown_with_its_image(account: Account) -> None:
    account.sim.add_fleet("Old", image="ImgA", tags={FOLLOWS_TAG: "ImgA", STAGE_TAG: "production"})
    account.sim.add_fleet("Foreign", image="ImgB", tags={FOLLOWS_TAG: "ImgA"})

    code, printed, _ = status()

    assert code == OK
    assert "Old (production, RUNNING) runs ImgA: BEHIND (an older image of the lineage)" in printed
    assert "Foreign (no stage, RUNNING) runs ImgB: not an image of the lineage" in printed
    fleets = json.loads(status("--json")[1])["images"][0]["fleets"]
    assert {f["name"]: f["behind"] for f in fleets} == {
        "Canary": False,
        "Prod": False,
        "Old": True,
        "Foreign": False,
    }


def test_an_approval_waiting_needs_a_person_and_gives_the_command(account: Account) -> None:
    # Given a run waiting for approval of ImgA's new image
    execution = account.run()
    newest = naming.derived_image_name("ImgA", NOW - timedelta(days=1))
    ledger = ApprovalLedger(TABLE, boto3.client("dynamodb"))
    ledger.await_answer(execution, "ImgA", newest, "secret-token", NOW + timedelta(hours=70))

    code, printed, _ = status()

    command = f'make run-now ARGS="approve {execution} --image ImgA"'
    assert code == ATTENTION
    assert (
        f"  approval:      {newest} waits until 2026-12-07 07:30 UTC; approve:\n"
        f"                 {command}\n"
    ) in printed
    assert "secret-token" not in printed
    _, found = reasons()
    assert [(r["code"], r["image"]) for r in found] == [("APPROVAL_WAITING", "ImgA")]
    assert command in found[0]["message"]

    # When the run has ended (or the approval was decided), nothing waits
    boto3.client("stepfunctions").stop_execution(executionArn=execution)
    assert reasons() == (OK, [])


def test_a_decided_or_expired_approval_does_not_wait(account: Account) -> None:
    execution = account.run()
    ledger = ApprovalLedger(TABLE, boto3.client("dynamodb"))
    ledger.await_answer(execution, "ImgA", "ImgA-x", "t", NOW - timedelta(minutes=1))
    ledger.await_answer(execution, "ImgB", "ImgB-x", "t", NOW + timedelta(hours=1))
    record = ledger.get(execution, "ImgB")
    assert record is not None
    ledger.decide(record, decision="APPROVED", by="alice", reason=None, at=NOW)

    assert reasons() == (OK, [])


def _pause_schedule() -> None:
    scheduler = boto3.client("scheduler")
    found = scheduler.get_schedule(Name=SCHEDULE)
    keep = ("Name", "ScheduleExpression", "ScheduleExpressionTimezone", "Target")
    scheduler.update_schedule(
        **{k: found[k] for k in keep}, FlexibleTimeWindow={"Mode": "OFF"}, State="DISABLED"
    )


def test_breaker_open_pauses_the_schedule_and_needs_a_person(account: Account) -> None:
    breaker = BreakerLedger(TABLE, boto3.client("dynamodb"))
    for index in range(3):
        breaker.record_failed_scheduled_run(f"arn:aws:states:::execution:m:run-{index}", NOW)
    _pause_schedule()

    code, printed, _ = status()

    assert code == ATTENTION
    assert (
        f"Schedule {SCHEDULE}: DISABLED, cron(0 3 * * ? *) (Europe/Paris); next run: none"
    ) in printed
    assert "Circuit breaker: OPEN (it paused the schedule), 3 failed scheduled runs" in printed
    _, found = reasons()
    assert [r["code"] for r in found] == ["SCHEDULE_PAUSED"]
    assert "circuit breaker paused it after 3 failed scheduled runs" in found[0]["message"]
    assert '"--resume-schedule"' in found[0]["message"]


def test_a_schedule_paused_by_hand_needs_a_person(account: Account) -> None:
    _pause_schedule()

    code, found = reasons()

    assert code == ATTENTION
    assert [r["code"] for r in found] == ["SCHEDULE_PAUSED"]
    assert "no run starts by itself" in found[0]["message"]


def test_patches_older_than_the_threshold_need_a_person(account: Account) -> None:
    # ImgB's newest image was built from a base image released 50 days ago
    account.derived("ImgB", NOW - timedelta(hours=2), base_image_released=NOW - timedelta(days=50))

    code, found = reasons()
    assert code == ATTENTION
    assert [(r["code"], r["image"]) for r in found] == [("PATCHES_TOO_OLD", "ImgB")]
    assert "released 50 days ago (more than 45)" in found[0]["message"]
    # a threshold above the age: fine; the figure itself is in the JSON
    assert reasons("--max-patch-age-days", "50") == (OK, [])
    newest = json.loads(status("--json")[1])["images"][1]["newestAvailable"]
    assert newest["patchAgeDays"] == 50


def test_quotas_read_from_service_quotas_and_a_full_one_needs_a_person(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Service Quotas answers AppStream's quotas (moto knows only vpc's: taught here)
    limits = {"L-E1182CCA": 5, "L-DE32F884": 3, "L-9B6418E0": 2}
    original = ServiceQuotasBackend.get_service_quota

    def get_service_quota(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
        if service_code == "appstream2" and quota_code in limits:
            return {
                "QuotaCode": quota_code,
                "ServiceCode": service_code,
                "Value": limits[quota_code],
            }
        return original(self, service_code, quota_code)

    monkeypatch.setattr(ServiceQuotasBackend, "get_service_quota", get_service_quota)
    # and the account holds 4 images (one more makes it full) and an update building
    account.derived("ImgA", NOW - timedelta(hours=1), state="PENDING")

    code, printed, _ = status()
    assert code == ATTENTION
    assert "images: 5 of 5, 0 left (Service Quotas, L-E1182CCA)" in printed
    assert "concurrent image updates: 1 of 2, 1 left (Service Quotas, L-9B6418E0)" in printed
    assert "image builders: 0 of 3, 3 left (Service Quotas, L-DE32F884)" in printed
    assert "documented defaults" not in printed
    _, found = reasons()
    assert [r["code"] for r in found] == ["QUOTA_FULL"]
    assert "images: 5 of 5 used" in found[0]["message"]


def test_quotas_fall_back_to_the_documented_defaults_and_say_so(account: Account) -> None:
    # moto's Service Quotas does not know appstream2: NoSuchResourceException
    document = json.loads(status("--json")[1])

    assert [
        (q["name"], q["quotaCode"], q["limit"], q["used"], q["source"]) for q in document["quotas"]
    ] == [
        ("images", "L-E1182CCA", 10, 4, "documented-default"),
        ("image builders", "L-DE32F884", 10, 0, "documented-default"),
        ("concurrent image updates", "L-9B6418E0", 5, 0, "documented-default"),
    ]
    assert [code for _, code, _ in QUOTAS] == ["L-E1182CCA", "L-DE32F884", "L-9B6418E0"]
    assert "Service Quotas could not be read" in status()[1]


def test_json_shape(account: Account) -> None:
    code, printed, _ = status("--json")

    document = json.loads(printed)
    assert code == OK
    assert list(document) == [
        "version",
        "stack",
        "region",
        "checkedAt",
        "needsAttention",
        "reasons",
        "thresholds",
        "images",
        "schedule",
        "quotas",
    ]
    assert document["version"] == 1
    assert document["checkedAt"] == "2026-12-04T09:30:00Z"
    assert document["needsAttention"] is False
    image = document["images"][0]
    assert list(image) == [
        "root",
        "found",
        "rootExists",
        "newestAvailable",
        "updateInProgress",
        "failedUpdate",
        "reportsOwed",
        "fleets",
        "approvalsWaiting",
    ]
    assert image["newestAvailable"] == {
        "name": naming.derived_image_name("ImgA", NOW - timedelta(days=1)),
        "state": "AVAILABLE",
        "createdTime": "2026-12-03T09:30:00Z",
        "publicBaseImageReleasedDate": "2026-11-22T09:30:00Z",
        "patchAgeDays": 12,
        "appstreamAgentVersion": "1.1.1200",
        "latestAppstreamAgentVersion": True,
        "stateChangeReason": None,
    }
    assert document["schedule"] == {
        "name": SCHEDULE,
        "state": "ENABLED",
        "expression": "cron(0 3 * * ? *)",
        "timezone": "Europe/Paris",
        "nextRun": "2026-12-05T02:00:00Z",
        "failedScheduledRuns": 0,
        "breakerOpen": False,
    }


def test_a_configured_image_that_is_gone_needs_a_person(account: Account) -> None:
    boto3.client("cloudformation").delete_stack(StackName=DEFAULT_STACK)
    stack_with_outputs(
        {
            "StateMachineArn": account.state_machine_arn,
            "ConfiguredImages": "ImgA,Gone",
            "ScheduleName": SCHEDULE,
            "LedgerTableName": TABLE,
        }
    )

    code, found = reasons()

    assert code == ATTENTION
    assert [(r["code"], r["image"]) for r in found] == [("IMAGE_NOT_FOUND", "Gone")]


def test_aws_unreachable_exits_3(account: Account) -> None:
    # Given AppStream cannot be reached (every attempt of the SDK fails)
    account.sim.fail("DescribeImages", NETWORK_FAILURE, calls=None)

    code, printed, errors = status()

    assert (code, printed) == (ENVIRONMENT, "")
    assert "error: could not read the updater's state" in errors


def test_no_stack_exits_3(account: Account) -> None:
    code, _, errors = status("--stack", "Other")
    assert code == ENVIRONMENT
    assert "Stack 'Other' was not found" in errors


def test_bad_threshold_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_:
        run_now.main(["status", "--max-patch-age-days", "-1"])
    assert exit_.value.code == USAGE


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (
            {"ScheduleExpression": "rate(6 hours)", "CreationDate": NOW - timedelta(hours=7)},
            NOW + timedelta(hours=5),
        ),
        (
            {"ScheduleExpression": "rate(1 day)", "StartDate": NOW + timedelta(days=2)},
            NOW + timedelta(days=2),
        ),
        ({"ScheduleExpression": "cron(0 3 * * ? *)", "EndDate": NOW}, None),
        (
            {"ScheduleExpression": "cron(0 3 L * ? *)", "ScheduleExpressionTimezone": "UTC"},
            datetime(2026, 12, 31, 3, 0, tzinfo=UTC),
        ),
    ],
    ids=["rate-from-creation", "rate-from-start", "ended", "cron-last-day"],
)
def test_next_run(schedule: dict[str, Any], expected: datetime | None) -> None:
    assert next_run(schedule, NOW) == expected


def test_sample_output(account: Account) -> None:
    """The README's sample: an update building, a fleet behind, an approval waiting (run
    with STATUS_SAMPLE=1 and -s to print it)."""
    account.derived("ImgB", NOW - timedelta(hours=2), state="PENDING")
    account.sim.add_fleet("Old", image="ImgA", tags={FOLLOWS_TAG: "ImgA", STAGE_TAG: "production"})
    execution = account.run()
    newest = naming.derived_image_name("ImgA", NOW - timedelta(days=1))
    ledger = ApprovalLedger(TABLE, boto3.client("dynamodb"))
    ledger.await_answer(execution, "ImgA", newest, "t", NOW + timedelta(hours=70))

    code, printed, _ = status()

    assert code == ATTENTION
    assert printed.count("BEHIND") == 1 and "in progress: ImgB-" in printed
    assert printed.endswith('--image ImgA"\n')
    if os.environ.get("STATUS_SAMPLE"):
        print("\n" + printed)


# Every action status calls, by IAM prefix: the IAM the admin needs (README, "Status").
READ_ONLY_CALLS = {
    ("cloudformation", "DescribeStacks"),
    ("appstream", "DescribeImages"),
    ("appstream", "ListTagsForResource"),
    ("appstream", "DescribeFleets"),
    ("appstream", "DescribeImageBuilders"),
    ("dynamodb", "Query"),
    ("dynamodb", "GetItem"),
    ("scheduler", "GetSchedule"),
    ("states", "DescribeExecution"),
    ("servicequotas", "GetServiceQuota"),
}


def test_status_only_reads_and_calls_the_documented_actions(account: Account) -> None:
    # Given every state at once: an approval waiting, an update building, a report owed
    execution = account.run()
    newest = naming.derived_image_name("ImgA", NOW - timedelta(days=1))
    ApprovalLedger(TABLE, boto3.client("dynamodb")).await_answer(
        execution, "ImgA", newest, "t", NOW + timedelta(hours=1)
    )
    UpdateLedger(TABLE, boto3.client("dynamodb")).expect_report("ImgA", newest, NOW)
    account.derived("ImgB", NOW - timedelta(hours=1), state="PENDING")
    calls: set[tuple[str, str]] = set()
    queries: list[dict[str, Any]] = []

    def recording_session(**kwargs: Any) -> boto3.Session:
        session = boto3.Session(**kwargs)

        def record(model: Any, **_: Any) -> None:
            prefix = (
                model.service_model.metadata.get("signingName")
                or model.service_model.endpoint_prefix
            )
            calls.add((prefix, model.name))

        def keep_query(params: dict[str, Any], model: Any, **_: Any) -> None:
            if model.name == "Query":
                queries.append(params)

        session.events.register("before-call", record)
        session.events.register("before-parameter-build.dynamodb.Query", keep_query)
        return session

    # When status runs
    out = io.StringIO()
    with redirect_stderr(io.StringIO()):
        code = run_now.main(["status"], out=out, session_factory=recording_session)

    # Then it called exactly the documented reads (the IAM policy's actions)
    assert code == ATTENTION
    assert calls == READ_ONLY_CALLS
    assert all(name.startswith(("Describe", "Get", "List", "Query")) for _, name in calls)
    # and the approvals are read without their task token (a projection that leaves it out)
    (approvals,) = [q for q in queries if "#approval" in json.dumps(q)]
    projected = [
        approvals["ExpressionAttributeNames"].get(name.strip(), name.strip())
        for name in approvals["ProjectionExpression"].split(",")
    ]
    assert projected == ["sk", "newImageName", "deadline", "decision"]
    # and every AppStream request satisfied the service's own checks (pattern, max, enum)
    assert account.sim.violations == []


def test_a_deleted_root_does_not_end_its_lineage(account: Account) -> None:
    # Given the admin deleted the configured image ImgA (the updater carries on from its own)
    boto3.client("appstream").delete_image(Name="ImgA")

    code, printed, _ = status()

    assert code == OK
    assert "ImgA (deleted; its lineage goes on)\n" in printed
    image = json.loads(status("--json")[1])["images"][0]
    assert (image["found"], image["rootExists"]) == (True, False)
    assert image["newestAvailable"]["name"] == naming.derived_image_name(
        "ImgA", NOW - timedelta(days=1)
    )
