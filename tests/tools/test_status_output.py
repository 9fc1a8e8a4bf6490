"""run-now status: its quotas, its JSON shape, its errors, its schedule arithmetic, the IAM it
needs (only reads), and the README's sample."""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stderr
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.servicequotas.models import ServiceQuotasBackend

from image_updater.approval.ledger import ApprovalLedger
from image_updater.domain import naming
from image_updater.rollout.models import FOLLOWS_TAG, STAGE_TAG
from image_updater.update.ledger import UpdateLedger
from rehearsal.appstream import NETWORK_FAILURE
from tests.tools.status_account import (
    NOW,
    SCHEDULE,
    TABLE,
    Account,
    reasons,
    status,
)
from tests.tools.steps import stack_with_outputs
from tools import run_now
from tools.run_now.aws import DEFAULT_STACK
from tools.run_now.errors import ATTENTION, ENVIRONMENT, OK, USAGE
from tools.run_now.status import QUOTAS, next_run


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
        "patchedAt": "2026-12-03T09:30:00Z",  # built by the updater yesterday
        "patchAgeDays": 1,
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
