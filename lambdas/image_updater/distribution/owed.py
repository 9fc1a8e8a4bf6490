"""Distributions owed across runs: the rules over the ledger's distribution items, pure (no
AWS), so each is tested on its own. The shape is the final reports' (update/reports.py): an
item per image, CLAIMED by the run distributing it (claimer = its execution ARN, claimedAt),
REPORTED once SNS accepted its "distributed" e-mail (the child execution's "Mark the report
sent" step), kept REPORTED_KEEP, then expired.

Whether a claim was abandoned is not a matter of time here (a distribution may wait hours for
its copies): it is whether its run, and the run's child execution of that image, are still
RUNNING (DescribeExecution). Both, because Step Functions' stop of a .sync:2 parent is only a
best-effort attempt to stop the child: a child that outlives its stopped parent still finishes
(and marks) the distribution itself, and a child stopped with its parent leaves it owed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from image_updater.rollout.outcomes import NO_FLEETS, PRODUCTION_UPDATED
from image_updater.update.reports import CLAIMED

DISTRIBUTION_PREFIX = "distribution#"  # the sort key of an image's item: distribution#<name>
# Outcomes of a roll-out after which the hub is done with the image (it may leave the hub).
DONE_IN_THE_HUB = (NO_FLEETS, PRODUCTION_UPDATED)
# What a resumed item carries besides a roll-out's result (the child reads them).
RESUMED_FROM = "resumedFrom"
GONE = "gone"
DISTRIBUTED_ELSEWHERE = "DISTRIBUTED_ELSEWHERE"


def distribution_key(image: str) -> str:
    return DISTRIBUTION_PREFIX + image


class DistributionRecord(NamedTuple):
    """One `distribution#<name>` item of the ledger."""

    status: str
    claimer: str | None = None
    outcome: str | None = None  # the roll-out's outcome that let the image leave the hub


def distributable(result: Mapping[str, Any]) -> bool:
    """The rule of the child's "New image to distribute?": a new image, not failed, that the
    hub is done with."""
    return (
        isinstance(result.get("newImageName"), str)
        and result.get("failed") is False
        and result.get("outcome") in DONE_IN_THE_HUB
    )


def child_execution_arn(machine_arn: str, run_arn: str, root: str) -> str:
    """The execution of "Distribute one image" that `run_arn` started for `root`: its name is
    the SHA-256 of the two (infra/workflow/distribute_each.py)."""
    name = hashlib.sha256(f"{run_arn} {root}".encode()).hexdigest()
    return machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def abandoned(
    record: DistributionRecord,
    me: str,
    running: Callable[[str], bool],
) -> bool:
    """A distribution owed whose run stopped (or failed, or timed out) before its e-mail was
    marked sent: claimed by another run that is no longer RUNNING, whose child for the image
    is not RUNNING either (`running` answers for both)."""
    return (
        record.status == CLAIMED
        and record.claimer is not None
        and record.claimer != me
        and not running(record.claimer)
    )


def to_resume(
    root: str,
    records: Mapping[str, DistributionRecord],
    me: str,
    run_running: Callable[[str], bool],
    child_running: Callable[[str, str], bool],
) -> tuple[str, DistributionRecord] | None:
    """The one owed distribution of `root` this run takes over: the newest abandoned one (the
    names end with the UTC time they were built; a run starts one child per lineage, so an
    older one waits for the next run)."""
    candidates = [
        (name, record)
        for name, record in records.items()
        if abandoned(record, me, lambda arn: run_running(arn) or child_running(arn, root))
    ]
    return max(candidates, default=None, key=lambda pair: pair[0])
