"""run-now status in each state of the simulated account (see `status_account`): what it
shows, what needs a person, and its exit code."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3

from image_updater.approval.ledger import ApprovalLedger
from image_updater.breaker.ledger import BreakerLedger
from image_updater.domain import naming
from image_updater.rollout.models import FOLLOWS_TAG, STAGE_TAG
from image_updater.update.ledger import UpdateLedger
from tests.tools.status_account import (
    FRESH,
    NOW,
    SCHEDULE,
    TABLE,
    Account,
    pause_schedule,
    reasons,
    status,
)
from tools.run_now.errors import ATTENTION, OK


def test_all_fine_exits_0_and_shows_each_image(account: Account) -> None:
    code, printed, errors = status()

    assert (code, errors) == (OK, "")
    newest = naming.derived_image_name("ImgA", NOW - timedelta(days=1))
    assert f"newest image:  {newest} (AVAILABLE, created 2026-12-03 09:30 UTC)" in printed
    # patched by the update that built it yesterday (its base image's release: 12 days ago)
    assert (
        "patches:       updated 2026-12-03 by CreateUpdatedImage, 1 day ago (threshold 45)"
        in printed
    )
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


def test_breaker_open_pauses_the_schedule_and_needs_a_person(account: Account) -> None:
    breaker = BreakerLedger(TABLE, boto3.client("dynamodb"))
    for index in range(3):
        breaker.record_failed_scheduled_run(f"arn:aws:states:::execution:m:run-{index}", NOW)
    pause_schedule()

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
    pause_schedule()

    code, found = reasons()

    assert code == ATTENTION
    assert [r["code"] for r in found] == ["SCHEDULE_PAUSED"]
    assert "no run starts by itself" in found[0]["message"]


def test_patches_older_than_the_threshold_need_a_person(account: Account) -> None:
    # ImgB's newest image was built by the updater 50 days ago, from a base image whose
    # release date (12 days ago) the managed update did not move: its patches are 50 days old
    boto3.client("appstream").delete_image(
        Name=naming.derived_image_name("ImgB", NOW - timedelta(days=1))
    )
    account.derived("ImgB", NOW - timedelta(days=50), base_image_released=FRESH)

    code, found = reasons()
    assert code == ATTENTION
    assert [(r["code"], r["image"]) for r in found] == [("PATCHES_TOO_OLD", "ImgB")]
    assert (
        "patches are 50 days old (more than 45; counted from its CreatedTime"
        in (found[0]["message"])
    )
    # a threshold above the age: fine; the figure itself is in the JSON
    assert reasons("--max-patch-age-days", "50") == (OK, [])
    newest = json.loads(status("--json")[1])["images"][1]["newestAvailable"]
    assert newest["patchAgeDays"] == 50
    assert newest["patchedAt"] == newest["createdTime"]


def test_the_configured_image_s_patches_date_from_its_base_image_release(
    account: Account,
) -> None:
    # ImgB's only image is the configured one (created 60 days ago, its base image released
    # 12 days ago): its patches are the base image's, 12 days old
    boto3.client("appstream").delete_image(
        Name=naming.derived_image_name("ImgB", NOW - timedelta(days=1))
    )

    code, found = reasons("--max-patch-age-days", "10")
    assert code == ATTENTION
    assert [(r["code"], r["image"]) for r in found] == [("PATCHES_TOO_OLD", "ImgB")]
    assert (
        "ImgB's patches are 12 days old (more than 10; counted from its " in (found[0]["message"])
    )
    assert "PublicBaseImageReleasedDate" in found[0]["message"]
    assert "base image released 2026-11-22, 12 days ago (threshold 45)" in status()[1]
    newest = json.loads(status("--json")[1])["images"][1]["newestAvailable"]
    assert (newest["name"], newest["patchAgeDays"]) == ("ImgB", 12)
