"""A year unattended: 52 weekly scheduled runs of the synthesized workflow against one simulated
account, as nobody watches it.

The account has AppStream's default quotas (10 images, 10 image builders, 5 concurrent
updates), three images the updater did not make, an image builder and fleets. Patches come out
on the second Tuesday of each month. Now and then an admin moves the production fleet to the
newest image. In May the patch's update fails, run after run, until the breaker pauses the
schedule; an admin fixes the cause and resumes it with run-now.

    python -m rehearsal year

The parts: `setting` (the account and the calendar), `simulation` (the runs and what happens
between them), `record` (what happened, week by week) and `report` (what is printed).
"""

from __future__ import annotations

import time

from rehearsal.year.record import Week, Year
from rehearsal.year.report import print_year, report
from rehearsal.year.setting import (
    CONTEXT,
    FAILING_MONTH,
    FAILURE_REASON,
    OTHER_IMAGES,
    ROOT,
    SUMMARY,
)
from rehearsal.year.simulation import simulate_year

__all__ = [
    "CONTEXT",
    "FAILING_MONTH",
    "FAILURE_REASON",
    "OTHER_IMAGES",
    "ROOT",
    "SUMMARY",
    "Week",
    "Year",
    "main",
    "print_year",
    "report",
    "simulate_year",
]


def main() -> int:
    """`python -m rehearsal year`: the year run and printed, with the time it took here."""
    began = time.monotonic()
    year = simulate_year()
    print_year(year, time.monotonic() - began)
    return 0
