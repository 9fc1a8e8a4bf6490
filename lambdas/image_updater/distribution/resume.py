"""Which images this run distributes: its own new images (each claimed in the ledger before
its first copy or share), and, for a lineage that has none this run, the distribution an
earlier run left owed when it stopped, failed or timed out (taken over from it). The rules
are in `owed.py`; this gathers the facts (the ledger, DescribeExecution, the hub's image) and
writes the claims.

The result is the list the run's Map starts one child execution per item of, one per lineage
(so the child's name, the SHA-256 of the run and the lineage, stays unique): a roll-out's
result as it was, or marked DISTRIBUTED_ELSEWHERE (another run holds the claim: never
distributed twice), or an owed distribution (`resumedFrom`: the run that left it; `gone`:
why it cannot be resumed, for the e-mail that says so).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from image_updater.distribution.owed import (
    DISTRIBUTED_ELSEWHERE,
    DONE_IN_THE_HUB,
    GONE,
    RESUMED_FROM,
    DistributionRecord,
    child_execution_arn,
    distributable,
    to_resume,
)
from image_updater.integrations.executions import RunStatusUnknown
from image_updater.models import AVAILABLE, ImageSummary


class OwedLedger(Protocol):
    def records(self, root: str) -> dict[str, DistributionRecord]: ...

    def claim(self, root: str, image: str, outcome: str, claimer: str, now: datetime) -> bool: ...

    def take_over(
        self, root: str, image: str, abandoned_by: str, claimer: str, now: datetime
    ) -> bool: ...


class RunningExecutions(Protocol):
    def running(self, arn: str) -> bool: ...


class HubImages(Protocol):
    @property
    def region(self) -> str: ...

    def find(self, name: str) -> ImageSummary | None: ...


def plan(
    results: list[Mapping[str, Any]],
    me: str,
    *,
    child_machine: str,
    ledger: OwedLedger,
    executions: RunningExecutions,
    hub: HubImages,
    now: datetime,
) -> list[dict[str, Any]]:
    """One item per roll-out result (per lineage), in their order."""
    running = _running(executions)
    planned: list[dict[str, Any]] = []
    for result in results:
        root = str(result["image"])
        if distributable(result):
            mine = ledger.claim(root, str(result["newImageName"]), result["outcome"], me, now)
            planned.append(dict(result) if mine else {**result, "outcome": DISTRIBUTED_ELSEWHERE})
            continue
        owed = to_resume(
            root,
            ledger.records(root),
            me,
            running,
            lambda run, lineage: running(child_execution_arn(child_machine, run, lineage)),
        )
        resumed = None
        if owed is not None:
            name, record = owed
            assert record.claimer is not None  # to_resume only picks a claimed record
            if ledger.take_over(root, name, record.claimer, me, now):
                resumed = _resumed(root, name, record, hub)
        planned.append(resumed or dict(result))
    return planned


def _resumed(root: str, name: str, record: DistributionRecord, hub: HubImages) -> dict[str, Any]:
    """The owed distribution as the child reads a roll-out's result, and where it came from.
    An image no longer AVAILABLE in the hub is not copied or shared (someone deleted it, or
    is deleting it: its copies must not be handed out): the child only e-mails why."""
    outcome = record.outcome if record.outcome in DONE_IN_THE_HUB else DONE_IN_THE_HUB[0]
    item: dict[str, Any] = {
        "image": root,
        "newImageName": name,
        "outcome": outcome,
        "failed": False,
        RESUMED_FROM: record.claimer,
    }
    image = hub.find(name)
    if image is None or image.state != AVAILABLE:
        state = "gone" if image is None else image.state
        item[GONE] = f"{name} is {state} in {hub.region}"
    return item


def _running(executions: RunningExecutions) -> Callable[[str], bool]:
    """An execution whose status is unknown counts as running: its distribution waits for a
    later run rather than risk being done twice."""

    def running(arn: str) -> bool:
        try:
            return executions.running(arn)
        except RunStatusUnknown:
            return True

    return running
