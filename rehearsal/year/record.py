"""What happened in the year, week by week, as the simulation records it and the report reads it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from rehearsal import costs
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import Execution


@dataclass
class Week:
    """One week of the year: its scheduled run, or why there was none."""

    fired: datetime
    status: str  # the run's status, or "PAUSED" when the schedule did not start one
    started_by: str = "schedule"  # or "hand": `make run-now` after the fix
    # What people and AWS did since the previous run: (when, what)
    happenings: list[tuple[datetime, str]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # updates the run started
    outcomes: dict[str, str] = field(default_factory=dict)  # new image -> AVAILABLE | FAILED
    deleted: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # image -> why kept beyond keepImages
    emails: list[str] = field(default_factory=list)  # subjects
    events: list[str] = field(default_factory=list)  # detail types
    failed: bool = False
    peak_images: int = 0  # the account's images at the busiest moment of the run
    images_after: int = 0
    protected_deleted: list[str] = field(default_factory=list)
    quota_refusals: int = 0
    execution: Execution | None = None


@dataclass
class Year:
    weeks: list[Week]
    sim: SimulatedAppStream
    releases: list[datetime]
    image_quota: int
    appstream_calls: Counter[str]
    service_calls: Counter[str]
    lambda_invocations: int
    state_transitions: int
    build_hours: float
    schedule_state: str
    breaker_count: int
    paused_at: datetime | None = None
    resumed_at: datetime | None = None

    @property
    def runs(self) -> list[Week]:
        """Every run, scheduled or started by hand."""
        return [week for week in self.weeks if week.execution is not None]

    @property
    def scheduled_runs(self) -> list[Week]:
        return [week for week in self.runs if week.started_by == "schedule"]

    def usage(self) -> costs.Usage:
        return costs.Usage(
            months=12,
            scheduled_runs=len(self.scheduled_runs),
            state_transitions=self.state_transitions,
            lambda_invocations=self.lambda_invocations,
            emails=sum(len(week.emails) for week in self.weeks),
            events=sum(len(week.events) for week in self.weeks),
            service_calls=self.service_calls,
        )
