"""The year's account and calendar: what the updater is given, what else the account holds,
when patches come out, when the admin moves the fleet, which month fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SUMMARY = (
    "52 weekly runs with the default quotas, monthly patches, fleets moved, a failing month "
    "that trips the breaker, then a resume"
)
ROOT = "SalesApps"
EMAILS = "ops@example.com"
CONTEXT: dict[str, Any] = {
    "imageNames": ROOT,
    "notificationEmails": EMAILS,
    "scheduleExpression": "cron(0 3 ? * WED *)",
}
# Images of the account the updater was not given (and one image builder): never touched.
OTHER_IMAGES = ("Finance-Desktop", "Engineering-Tools", "Kiosk-Browser")
IMAGE_BUILDER = "Engineering-Builder"
PRODUCTION_FLEET = "Sales-Prod"
OTHER_FLEET = "Finance-Prod"
FIRST_RUN = datetime(2027, 1, 6, 3, 0, tzinfo=UTC)  # a Wednesday, as the schedule says
WEEKS = 52
UPDATE_TAKES = timedelta(hours=2)
# In this month the patch's update fails at every attempt until the breaker pauses the
# schedule; the admin fixes the cause this long after the pause and resumes the schedule.
FAILING_MONTH = 7
RESUMED_AFTER_PAUSE = timedelta(days=9)
# Months in which the admin moves the production fleet to the newest image (on the 20th).
FLEET_MOVES = (3, 6, 9, 12)
# What `make run-now` starts (tools/run_now/): no "startedBy", so the breaker does not count it.
BY_HAND_INPUT = {"images": [ROOT], "dryRun": False}
FAILURE_REASON = "Windows Update returned 0x80070643 while installing KB5034441."


def patch_tuesday(year: int, month: int) -> datetime:
    """The second Tuesday of the month, 18:00 UTC (when Microsoft releases its patches)."""
    first = datetime(year, month, 1, 18, 0, tzinfo=UTC)
    first_tuesday = first + timedelta(days=(1 - first.weekday()) % 7)
    return first_tuesday + timedelta(days=7)
