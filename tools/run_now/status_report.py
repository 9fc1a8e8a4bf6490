"""status: what the command found, what of it needs a person, and how it is shown.

Pure (no AWS): `status.py` gathers the facts into a `Status`; `reasons` decides what needs a
person; `text` shows it (and `status_json.as_json` for scripts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from image_updater.domain import patch_age

# Microsoft ships Windows security updates monthly (the second Tuesday): the newest patches of
# an image patched on time are up to about a month old, and AWS publishes its base images some
# days after. 45 days is one monthly cycle missed and a fortnight's margin.
DEFAULT_MAX_PATCH_AGE_DAYS = 45
# The default of maxUpdateHours, after which the updater stops following an update.
DEFAULT_STUCK_AFTER_HOURS = 12
_LABEL_WIDTH = len("reports owed:") + 2

# Why a person is needed (the JSON's reasons[].code).
IMAGE_NOT_FOUND = "IMAGE_NOT_FOUND"
UPDATE_FAILED = "UPDATE_FAILED"
UPDATE_STUCK = "UPDATE_STUCK"
APPROVAL_WAITING = "APPROVAL_WAITING"
PATCHES_TOO_OLD = "PATCHES_TOO_OLD"
SCHEDULE_PAUSED = "SCHEDULE_PAUSED"
QUOTA_FULL = "QUOTA_FULL"


@dataclass(frozen=True)
class ImageFacts:
    """One image as DescribeImages shows it."""

    name: str
    state: str
    created: datetime | None = None
    base_image_released: datetime | None = None  # PublicBaseImageReleasedDate
    agent_version: str | None = None  # AppstreamAgentVersion
    latest_agent: bool | None = None  # LatestAppstreamAgentVersion (TRUE/FALSE)
    reason: str | None = None  # StateChangeReason, for a FAILED image
    built_by_updater: bool = False  # one of the lineage's images the updater built

    @property
    def patched_at(self) -> datetime | None:
        """When its patches were last brought current (domain/patch_age.py)."""
        return patch_age.patched_at(
            built_by_updater=self.built_by_updater,
            created=self.created,
            base_image_released=self.base_image_released,
        )

    def patch_age_days(self, now: datetime) -> int | None:
        """The Lambdas' own definition (the PatchAgeDays metric and its alarm)."""
        return patch_age.patch_age_days(
            built_by_updater=self.built_by_updater,
            created=self.created,
            base_image_released=self.base_image_released,
            now=now,
        )


@dataclass(frozen=True)
class FleetStatus:
    name: str
    stage: str | None
    state: str
    image: str | None  # its image's name, or its ARN
    on_newest: bool  # runs the lineage's newest AVAILABLE image
    of_lineage: bool  # runs an image of the lineage (the newest or an older one)


@dataclass(frozen=True)
class Approval:
    execution_arn: str
    new_image_name: str
    deadline: datetime
    command: str


@dataclass(frozen=True)
class ImageStatus:
    root: str
    missing: str | None = None  # why the lineage could not be found
    root_found: bool = True
    newest_available: ImageFacts | None = None
    building: ImageFacts | None = None
    failed: ImageFacts | None = None  # the newest update, FAILED, newer than newest_available
    reports_owed: tuple[str, ...] = ()
    fleets: tuple[FleetStatus, ...] = ()
    approvals: tuple[Approval, ...] = ()


@dataclass(frozen=True)
class ScheduleStatus:
    name: str
    state: str
    expression: str
    timezone: str
    next_run: datetime | None
    failed_scheduled_runs: int  # the breaker's count

    @property
    def breaker_open(self) -> bool:
        """The breaker paused the schedule: it is off with failed runs counted."""
        return self.state != "ENABLED" and self.failed_scheduled_runs > 0


@dataclass(frozen=True)
class Quota:
    name: str
    code: str
    limit: int
    used: int
    from_service_quotas: bool  # else AppStream's documented default

    @property
    def headroom(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class Status:
    stack: str
    region: str
    now: datetime
    images: tuple[ImageStatus, ...]
    schedule: ScheduleStatus | None
    quotas: tuple[Quota, ...]
    quotas_note: str | None
    max_patch_age_days: int
    stuck_after_hours: int


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    image: str | None = None


def reasons(status: Status) -> list[Reason]:
    """Everything that needs a person, in the order shown."""
    found: list[Reason] = []
    for image in status.images:
        found += _image_reasons(image, status)
    schedule = status.schedule
    if schedule is not None and schedule.state != "ENABLED":
        why = (
            f"the circuit breaker paused it after {schedule.failed_scheduled_runs} failed "
            "scheduled runs in a row: fix the cause, then "
            'make run-now ARGS="--resume-schedule"'
            if schedule.breaker_open
            else 'no run starts by itself: make run-now ARGS="--resume-schedule" turns it on'
        )
        message = f"schedule {schedule.name} is {schedule.state}: {why}"
        found.append(Reason(SCHEDULE_PAUSED, message))
    for quota in status.quotas:
        if quota.name != "concurrent image updates" and quota.headroom == 0:
            found.append(
                Reason(
                    QUOTA_FULL,
                    f"{quota.name}: {quota.used} of {quota.limit} used: AppStream refuses the "
                    "next update (LimitExceededException) until one is freed or the quota raised",
                )
            )
    return found


def _image_reasons(image: ImageStatus, status: Status) -> list[Reason]:
    root = image.root
    if image.missing:
        return [Reason(IMAGE_NOT_FOUND, image.missing, root)]
    found = []
    if image.failed is not None:
        found.append(
            Reason(
                UPDATE_FAILED,
                f"the newest update, {image.failed.name}, FAILED"
                + (f" ({image.failed.reason})" if image.failed.reason else ""),
                root,
            )
        )
    building = image.building
    if building is not None and building.created is not None:
        hours = (status.now - building.created).total_seconds() / 3600
        if hours > status.stuck_after_hours:
            found.append(
                Reason(
                    UPDATE_STUCK,
                    f"{building.name} has been {building.state} for {hours:.0f} hours "
                    f"(more than {status.stuck_after_hours})",
                    root,
                )
            )
    for approval in image.approvals:
        found.append(
            Reason(
                APPROVAL_WAITING,
                f"the roll-out of {approval.new_image_name} waits for approval until "
                f"{_when(approval.deadline)}: {approval.command}",
                root,
            )
        )
    newest = image.newest_available
    age = newest.patch_age_days(status.now) if newest else None
    if newest is not None and age is not None and age > status.max_patch_age_days:
        found.append(
            Reason(
                PATCHES_TOO_OLD,
                f"{newest.name}'s patches are {age} days old (more than "
                f"{status.max_patch_age_days}; counted from its "
                f"{patch_age.source_of(built_by_updater=newest.built_by_updater)})",
                root,
            )
        )
    return found


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "unknown"


def _image_line(image: ImageFacts) -> str:
    return f"{image.name} ({image.state}, created {_when(image.created)})"


def _agent(image: ImageFacts) -> str:
    latest = {True: "the latest", False: "NOT the latest", None: "latest unknown"}
    return f"{image.agent_version or 'unknown'}, {latest[image.latest_agent]}"


def _patches(image: ImageFacts, status: Status) -> str:
    age = image.patch_age_days(status.now)
    if image.patched_at is None or age is None:
        missing = "CreatedTime" if image.built_by_updater else "PublicBaseImageReleasedDate"
        return f"unknown (DescribeImages gives no {missing})"
    flag = " TOO OLD" if age > status.max_patch_age_days else ""
    since = (
        f"updated {image.patched_at:%Y-%m-%d} by CreateUpdatedImage"
        if image.built_by_updater
        else f"base image released {image.patched_at:%Y-%m-%d}"
    )
    days = "1 day" if age == 1 else f"{age} days"
    return f"{since}, {days} ago{flag} (threshold {status.max_patch_age_days})"


def _fleet_line(fleet: FleetStatus) -> str:
    where = f"{fleet.name} ({fleet.stage or 'no stage'}, {fleet.state})"
    if fleet.on_newest:
        return f"{where} runs {fleet.image}: the newest"
    if fleet.of_lineage:
        return f"{where} runs {fleet.image}: BEHIND (an older image of the lineage)"
    return f"{where} runs {fleet.image or 'no image'}: not an image of the lineage"


def _image_block(image: ImageStatus, status: Status) -> list[str]:
    lines = [image.root + ("" if image.root_found else " (deleted; its lineage goes on)")]
    if image.missing:
        return [*lines, f"  NOT FOUND: {image.missing}"]
    newest = image.newest_available
    rows: list[tuple[str, str]] = [
        ("newest image", _image_line(newest) if newest else "none AVAILABLE"),
    ]
    if newest is not None:
        rows += [("patches", _patches(newest, status)), ("agent", _agent(newest))]
    rows.append(
        ("update", f"in progress: {_image_line(image.building)}" if image.building else "none")
    )
    if image.failed is not None:
        rows.append(("failed", _image_line(image.failed)))
    owed = ", ".join(image.reports_owed) if image.reports_owed else "none"
    rows.append(("reports owed", owed))
    fleets = [_fleet_line(fleet) for fleet in image.fleets] or ["none follow it"]
    rows += [("fleets", fleet) for fleet in fleets]
    for approval in image.approvals:
        waits = f"{approval.new_image_name} waits until {_when(approval.deadline)}; approve:"
        rows += [("approval", waits), ("approval", approval.command)]
    width = _LABEL_WIDTH
    previous = None
    for label, value in rows:
        shown = "" if label == previous else f"{label}:"
        lines.append(f"  {shown:<{width}}{value}")
        previous = label
    return lines


def text(status: Status, found: Sequence[Reason]) -> str:
    lines = [f"Stack {status.stack} in {status.region}, {_when(status.now)}", ""]
    for image in status.images:
        lines += [*_image_block(image, status), ""]
    schedule = status.schedule
    if schedule is not None:
        lines.append(
            f"Schedule {schedule.name}: {schedule.state}, {schedule.expression} "
            f"({schedule.timezone}); next run: "
            + (_when(schedule.next_run) if schedule.next_run else "none")
        )
        lines.append(
            "Circuit breaker: "
            + ("OPEN (it paused the schedule)" if schedule.breaker_open else "closed")
            + f", {schedule.failed_scheduled_runs} failed scheduled runs in a row"
        )
    lines.append("Quotas (this account and Region):")
    for quota in status.quotas:
        source = "Service Quotas" if quota.from_service_quotas else "documented default"
        lines.append(
            f"  {quota.name}: {quota.used} of {quota.limit}, {quota.headroom} left "
            f"({source}, {quota.code})"
        )
    if status.quotas_note:
        lines.append(f"  note: {status.quotas_note}")
    lines.append("")
    if found:
        lines.append("Needs a person:")
        lines += [f"  - {r.image + ': ' if r.image else ''}{r.message}" for r in found]
    else:
        lines.append("Nothing needs a person.")
    return "\n".join(lines) + "\n"
