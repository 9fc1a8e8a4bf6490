"""The distributed e-mail and events, from the Regions' results as the workflow gathers them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from image_updater.distribution import report
from image_updater.domain.messages import MessageContext

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Updater:run-1"
CTX = MessageContext.of_run(EXECUTION, datetime(2026, 1, 5, tzinfo=UTC), 12)
NAME = "Sales-20260105-030000"
A, B = "111122223333", "444455556666"


def region(region: str, state: str, **extra: Any) -> dict[str, Any]:
    return {
        "rootImageName": "Sales",
        "newImageName": NAME,
        "executionId": EXECUTION,
        "region": region,
        "shares": [
            {"accountId": A, "allowFleet": True, "allowImageBuilder": False},
            {"accountId": B, "allowFleet": False, "allowImageBuilder": True},
        ],
        "state": state,
        "polls": 3,
        **extra,
    }


def test_every_kind_of_failure_is_listed_and_announced() -> None:
    # Given: home shared (B refused), a copy whose step failed after its retries, one still
    # copying when the workflow stopped waiting, someone else's image, and a share step that
    # failed after its retries
    lambda_error = {"Error": "CopyQuotaExceeded", "Cause": json.dumps({"errorMessage": "busy"})}
    regions = [
        region(
            "",
            "AVAILABLE",
            shared=[
                {"accountId": A, "shared": True, "reason": None},
                {"accountId": B, "shared": False, "reason": "LimitExceededException: full"},
            ],
        ),
        region("eu-west-1", "PLANNED", copyError=lambda_error),
        region("eu-west-2", "TIMED_OUT"),
        region("eu-central-1", "NOT_OURS", reason="someone else's"),
        region("ap-south-1", "AVAILABLE", shareError={"Error": "AppStreamThrottled"}),
    ]

    # When
    found = report.results(regions, CTX.region)
    email = report.compose("Sales", NAME, found, CTX)
    events = report.events("Sales", NAME, found, CTX)

    # Then
    lines = email.body.splitlines()
    assert email.failed and email.outcome == report.DISTRIBUTION_INCOMPLETE
    assert f"  {'us-east-1':<16}{A}  shared (fleets)" in lines
    assert f"  {'us-east-1':<16}{B}  not shared: LimitExceededException: full" in lines
    assert f"  {'eu-west-1':<16}copy failed: CopyQuotaExceeded: busy" in lines
    assert f"  {'eu-west-2':<16}still copying after 3 checks; not shared there" in lines
    assert f"  {'eu-central-1':<16}left alone: someone else's" in lines
    assert f"  {'ap-south-1':<16}{A}  not shared: AppStreamThrottled" in lines
    assert [kind for kind, _ in events] == [
        report.IMAGE_SHARED,
        report.IMAGE_COPIED,
        report.DISTRIBUTION_FAILED,
    ]
    shared = events[0][1]
    assert shared["accounts"] == [A]
    assert shared["newImageArn"] == f"arn:aws:appstream:us-east-1:123456789012:image/{NAME}"
    failures = events[-1][1]["failures"]
    assert {(f["region"], f["accountId"]) for f in failures} == {
        ("us-east-1", B),
        ("eu-west-1", None),
        ("eu-west-1", A),
        ("eu-west-1", B),
        ("eu-west-2", None),
        ("eu-west-2", A),
        ("eu-west-2", B),
        ("eu-central-1", None),
        ("eu-central-1", A),
        ("eu-central-1", B),
        ("ap-south-1", A),
        ("ap-south-1", B),
    }


def test_a_complete_distribution_says_so() -> None:
    shared = [
        {"accountId": A, "shared": True, "reason": None},
        {"accountId": B, "shared": True, "reason": None},
    ]
    found = report.results([region("eu-west-1", "AVAILABLE", shared=shared)], CTX.region)

    email = report.compose("Sales", NAME, found, CTX)

    assert email.subject == f"AppStream image updater: {NAME} distributed"
    assert not email.failed and email.outcome == report.DISTRIBUTED
    assert "was copied to 1 Region(s) and shared with 2 account(s)." in email.body
    assert [kind for kind, _ in report.events("Sales", NAME, found, CTX)] == [
        report.IMAGE_COPIED,
        report.IMAGE_SHARED,
    ]


STOPPED = "arn:aws:states:us-east-1:123456789012:execution:Updater:run-0"


def test_a_resumed_distribution_names_the_run_that_left_it_and_what_was_kept() -> None:
    shared = [{"accountId": a, "shared": True, "reason": None} for a in (A, B)]
    found = report.results([region("eu-west-1", "AVAILABLE", shared=shared)], CTX.region)

    email = report.compose("Sales", NAME, found, CTX, resumed_from=STOPPED)

    assert email.subject == f"AppStream image updater: {NAME} distributed"
    assert "owed by the run run-0, which stopped, failed or timed out" in email.body
    assert "Copies it had made were found and kept (none was made twice)" in email.body
    assert "owed by the run" not in report.compose("Sales", NAME, found, CTX).body


def test_an_owed_distribution_whose_image_is_gone_gets_an_email_and_an_event() -> None:
    why = f"{NAME} is gone in us-east-1"

    email = report.compose_abandoned("Sales", NAME, why, STOPPED, CTX)
    events = report.abandoned_events("Sales", NAME, why, CTX)

    assert email.subject == (
        f"AppStream image updater: {NAME} not distributed: it is no longer in us-east-1"
    )
    assert email.failed and email.outcome == report.DISTRIBUTION_ABANDONED
    assert f"was not resumed: {why}. Nothing was copied or shared" in email.body
    assert "owed by the run run-0" in email.body
    assert [kind for kind, _ in events] == [report.DISTRIBUTION_FAILED]
    assert events[0][1]["failures"] == [
        {"region": "us-east-1", "accountId": None, "reason": f"not resumed: {why}"}
    ]


def test_the_claim_the_workflow_marks_sent_is_the_runs_item_kept_as_reports_are() -> None:
    claim = report.report_claim("Sales", NAME, EXECUTION, CTX.now)
    assert claim == {
        "pk": "Sales",
        "sk": f"distribution#{NAME}",
        "claimer": EXECUTION,
        "keepUntil": str(int(datetime(2026, 7, 4, tzinfo=UTC).timestamp())),
    }
