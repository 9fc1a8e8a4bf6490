"""The rules behind "exactly one final e-mail": which reports are owed (reports.py), which
errors mean "could not check" (update/messages/could_not_check.py), and what the breaker does with a
run that could not check (breaker/service.py). Pure: no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from image_updater.breaker.service import IGNORED, RESET, FinishedRun, record_run
from image_updater.domain.lineage import Lineage
from image_updater.domain.naming import LINEAGE_ROOT_TAG
from image_updater.errors import InvalidExecutionInput
from image_updater.models import CHECK_FAILED, FAILED, FOLLOW, ImageSummary
from image_updater.update.messages import compose, could_not_check
from image_updater.update.reports import (
    CLAIM_HOLD,
    CLAIMED,
    PENDING,
    REPORTED,
    REPORTED_KEEP,
    UNRECORDED_WINDOW,
    ReportRecord,
    owed,
    unrecorded,
)
from tests.unit.test_breaker import EXECUTION, FakeLedger, FakeSchedule
from tests.unit.test_messages import context, summary, task

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
ROOT = "SalesApps"


# --- reports owed ---------------------------------------------------------------------------------


def test_pending_and_abandoned_claims_are_owed_a_fresh_claim_and_a_sent_report_are_not() -> None:
    records = {
        "pending": ReportRecord(PENDING),
        "claimed just now": ReportRecord(CLAIMED, "run-1", NOW - timedelta(minutes=5)),
        "claimed long ago": ReportRecord(CLAIMED, "run-1", NOW - CLAIM_HOLD - timedelta(1)),
        "reported": ReportRecord(REPORTED, "run-1", NOW - timedelta(days=2)),
    }
    assert owed(records, NOW) == {"pending", "claimed long ago"}


def test_the_unrecorded_window_is_shorter_than_reported_items_are_kept() -> None:
    assert UNRECORDED_WINDOW < REPORTED_KEEP


def member(name: str, created: datetime, state: str = "AVAILABLE") -> ImageSummary:
    return ImageSummary(
        name=name,
        arn=f"arn:aws:appstream:us-east-1:123456789012:image/{name}",
        state=state,
        created_time=created.isoformat(),
    )


OLDER = member("SalesApps-20260401-030000", NOW - timedelta(days=60))
NEWEST = member("SalesApps-20260530-030000", NOW - timedelta(days=2))
TAGGED = {LINEAGE_ROOT_TAG: ROOT}


def lineage(*members: ImageSummary) -> Lineage:
    return Lineage(root=None, members=members)


def test_the_newest_settled_image_the_ledger_never_heard_of_is_reported() -> None:
    records = {OLDER.name: ReportRecord(REPORTED)}
    assert unrecorded(ROOT, lineage(OLDER, NEWEST), records, NOW, lambda _: TAGGED) == NEWEST


@pytest.mark.parametrize(
    ("members", "records", "tags"),
    [
        ((OLDER, NEWEST), {NEWEST.name: ReportRecord(REPORTED)}, TAGGED),  # known: older too
        ((member(NEWEST.name, NOW - timedelta(days=2), "PENDING"),), {}, TAGGED),  # building
        ((member(NEWEST.name, NOW - UNRECORDED_WINDOW - timedelta(1)),), {}, TAGGED),  # old
        ((NEWEST,), {}, {}),  # a name and description alone: not proof the updater built it
        ((NEWEST,), {}, {LINEAGE_ROOT_TAG: "Other"}),
    ],
    ids=["newest known", "still building", "outside the window", "untagged", "other root"],
)
def test_what_is_never_reported_as_unrecorded(
    members: tuple[ImageSummary, ...], records: dict[str, ReportRecord], tags: dict[str, str]
) -> None:
    assert unrecorded(ROOT, lineage(*members), records, NOW, lambda _: tags) is None


# --- could not check ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        "AppStreamThrottled",
        "AppStreamUnreachable",
        "AppStreamBusy",
        "LedgerUnavailable",
        "LineageBusy",
        "Sandbox.Timedout",
        "Lambda.ServiceException",
    ],
)
@pytest.mark.parametrize("action", [None, FOLLOW], ids=["first check", "status check"])
def test_a_step_that_could_not_run_is_could_not_check_and_not_a_failure(
    error: str, action: str | None
) -> None:
    # Given the first check (no action yet) or a status check failed after every retry
    image = summary(state="PENDING") if action else None
    failed_step = task(action=action, image=image, source=None if action is None else task().source)

    # When
    mail = compose(failed_step, context(), {"Error": error, "Cause": "Rate exceeded"})

    # Then
    assert mail.outcome == CHECK_FAILED
    assert mail.failed is False
    assert mail.subject == "AppStream image updater could not check: SalesApps"
    assert "FAILED" not in mail.subject
    assert "may well be fine" in mail.body or "Nothing failed" in mail.body


@pytest.mark.parametrize(
    "error", ["NoAvailableImage", "SourceImageNotFound", "UpdateNotPermitted", "ImageDisappeared"]
)
def test_an_error_about_the_image_itself_is_still_a_failure(error: str) -> None:
    assert not could_not_check.applies(error)
    mail = compose(task(action=None, source=None), context(), {"Error": error, "Cause": "x"})
    assert (mail.outcome, mail.failed) == (FAILED, True)


# --- the breaker ----------------------------------------------------------------------------------


def test_a_run_that_could_not_check_neither_counts_nor_resets_the_breaker() -> None:
    ledger = FakeLedger(count=2)
    unchecked = FinishedRun(EXECUTION + "r", "schedule", False, False, any_unchecked=True)
    result = record_run(unchecked, ledger, FakeSchedule(), 3, NOW)
    assert (result.action, ledger.calls, ledger.count) == (IGNORED, [], 2)


def test_a_real_failure_beside_it_still_counts_and_a_clean_run_still_resets() -> None:
    failed = FinishedRun(EXECUTION + "r", "schedule", False, True, any_unchecked=True)
    assert record_run(failed, FakeLedger(), FakeSchedule(), 3, NOW).action == "COUNTED"
    clean = FinishedRun(EXECUTION + "r", "schedule", False, False)
    assert record_run(clean, FakeLedger(count=2), FakeSchedule(), 3, NOW).action == RESET


def test_the_run_summary_carries_whether_an_image_could_not_be_checked() -> None:
    event = {"executionArn": "a", "startedBy": None, "dryRun": False, "anyFailed": False}
    assert FinishedRun.from_event({**event, "anyUnchecked": True}).any_unchecked is True
    assert FinishedRun.from_event(event).any_unchecked is False
    with pytest.raises(InvalidExecutionInput):
        FinishedRun.from_event({**event, "anyUnchecked": "yes"})
