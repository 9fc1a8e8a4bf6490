"""A year unattended: 52 weekly scheduled runs of the synthesized workflow against one simulated
account, as nobody watches it.

The account has AppStream's default quotas (10 images, 10 image builders, 5 concurrent
updates), three images the updater did not make, an image builder and fleets. Patches come out
on the second Tuesday of each month. Now and then an admin moves the production fleet to the
newest image. In May the patch's update fails, run after run, until the breaker pauses the
schedule; an admin fixes the cause and resumes it with run-now.

    python -m rehearsal year
"""

from __future__ import annotations

import contextlib
import io
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from image_updater.domain import naming
from rehearsal import costs
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import (
    REGION,
    DeployedAccount,
    Execution,
    Invocation,
    SimulatedClock,
    WorkflowRunner,
    published_events,
)

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


class _Account:
    """The simulated account and what happens to it between runs."""

    def __init__(self) -> None:
        self.clock = SimulatedClock(FIRST_RUN - timedelta(days=60))
        self.sim = SimulatedAppStream(clock=self._now)
        self.sim.set_quota()  # AppStream's defaults
        created = FIRST_RUN - timedelta(days=60)
        self.sim.add_image(ROOT, updates_available=False, created_time=created)
        for name in OTHER_IMAGES:
            self.sim.add_image(name, updates_available=False, created_time=created)
        self.sim.add_fleet(PRODUCTION_FLEET, image=ROOT)
        self.sim.add_fleet(OTHER_FLEET, image=OTHER_IMAGES[0])
        self.sim.add_image_builder(IMAGE_BUILDER, image=OTHER_IMAGES[1])
        self.protected = {ROOT, *OTHER_IMAGES}

    def _now(self) -> datetime:
        return self.clock.now()

    def lineage(self) -> list[dict[str, Any]]:
        """The lineage's images, oldest first."""
        images = self.sim.images
        members = [
            image
            for name, image in images.items()
            if name == ROOT or self.sim.tags(name).get(naming.LINEAGE_ROOT_TAG) == ROOT
        ]
        return sorted(members, key=lambda image: image["CreatedTime"])

    def newest_available(self) -> str:
        return str([i["Name"] for i in self.lineage() if i["State"] == "AVAILABLE"][-1])

    def release_patches(self) -> None:
        """Patch Tuesday: every image of the account has updates available."""
        for name, image in self.sim.images.items():
            if image["State"] == "AVAILABLE":
                self.sim.set_updates_available(name, True)

    def fleet_images(self) -> set[str]:
        found = set()
        for fleet in self.sim.fleets.values():
            found |= {fleet.get("ImageName"), fleet.get("ImageArn")} - {None}
        return {str(name) for name in found}


class _Admin:
    """What people and AWS do between two runs: patches, fleet moves, the fix and resume."""

    def __init__(self, deployed: DeployedAccount, account: _Account) -> None:
        self.deployed = deployed
        self.account = account
        self.releases = [patch_tuesday(FIRST_RUN.year, month) for month in range(1, 13)]
        self.fleet_moves = [datetime(FIRST_RUN.year, m, 20, 12, 0, tzinfo=UTC) for m in FLEET_MOVES]
        self.failing_from = self.releases[FAILING_MONTH - 1]
        self.paused_at: datetime | None = None
        self.fixed_at: datetime | None = None
        self.by_hand: Week | None = None  # the run the admin started after the fix

    def before_run(self, week: Week, previous: datetime) -> None:
        """Everything due since the previous run, in the order it happened."""
        fired = week.fired
        due: list[tuple[datetime, Callable[[datetime, Week], None]]] = [
            (released, self._release) for released in self.releases
        ]
        due += [(moved, self._move_fleet) for moved in self.fleet_moves]
        if self.paused_at and not self.fixed_at:
            due.append((self.paused_at + RESUMED_AFTER_PAUSE, self._fix_and_resume))
        for when, happen in sorted(due, key=lambda item: item[0]):
            if previous < when <= fired:
                happen(when, week)
        self.account.clock = SimulatedClock(fired)
        self.deployed.use_clock(self.account.clock)
        # How the update this run may start will end (a script applies to the next update
        # from that image only).
        failing = self.failing_from <= fired and self.fixed_at is None
        self.account.sim.script_update(
            self.account.newest_available(),
            duration=UPDATE_TAKES,
            outcome="FAILED" if failing else "AVAILABLE",
            reason_message=FAILURE_REASON,
        )

    def _release(self, when: datetime, week: Week) -> None:
        self.account.release_patches()
        week.happenings.append((when, "patches released"))

    def _move_fleet(self, when: datetime, week: Week) -> None:
        target = self.account.newest_available()
        self.account.sim.set_fleet_image(PRODUCTION_FLEET, target)
        week.happenings.append((when, f"fleet {PRODUCTION_FLEET} moved to {target}"))

    def _fix_and_resume(self, when: datetime, week: Week) -> None:
        """The admin fixes the cause, resumes the schedule and, not to wait for the next
        scheduled run, starts one by hand."""
        self.fixed_at = when
        self.account.clock = SimulatedClock(when)
        happening, announced = _resume(self.deployed, self.account)
        week.happenings.append((when, happening))
        week.events += announced
        self.account.sim.script_update(
            self.account.newest_available(), duration=UPDATE_TAKES, outcome="AVAILABLE"
        )
        self.by_hand = Week(fired=when, status="", started_by="hand")
        _run_week(self.deployed, self.account, self.by_hand, execution_input=BY_HAND_INPUT)

    def after_run(self, week: Week) -> None:
        if "Schedule Paused" in week.events:
            self.paused_at = week.fired


def simulate_year(
    runner: WorkflowRunner | None = None,
    *,
    weeks: int = WEEKS,
    on_week: Callable[[Week], None] | None = None,
) -> Year:
    """Run the year and return what happened, week by week."""
    runner = runner or WorkflowRunner(CONTEXT)
    account = _Account()
    with runner.account(account.sim) as deployed:
        admin = _Admin(deployed, account)
        result_weeks: list[Week] = []
        previous = FIRST_RUN - timedelta(days=7)
        for fired in (FIRST_RUN + timedelta(weeks=n) for n in range(weeks)):
            week = Week(fired=fired, status="")
            account.clock = SimulatedClock(fired)
            deployed.use_clock(account.clock)
            admin.before_run(week, previous)
            previous = fired
            if admin.by_hand is not None:
                result_weeks.append(admin.by_hand)
                admin.by_hand = None
            if _schedule_state(deployed) == "ENABLED":
                _run_week(deployed, account, week)
                admin.after_run(week)
            else:
                week.status = "PAUSED"
            result_weeks.append(week)
            if on_week:
                on_week(week)
        schedule_state = _schedule_state(deployed)
        breaker_count = _breaker_count(deployed)
    executions = [week.execution for week in result_weeks if week.execution]
    service_calls: Counter[str] = Counter()
    for execution in executions:
        service_calls.update(execution.service_calls)
    return Year(
        weeks=result_weeks,
        sim=account.sim,
        releases=[r for r in admin.releases if r <= result_weeks[-1].fired],
        image_quota=10,
        appstream_calls=Counter(call.operation for call in account.sim.calls),
        service_calls=service_calls,
        lambda_invocations=sum(len(e.invocations) for e in executions),
        state_transitions=sum(len(e.states) for e in executions),
        build_hours=sum(len(w.created) for w in result_weeks) * UPDATE_TAKES.total_seconds() / 3600,
        schedule_state=schedule_state,
        breaker_count=breaker_count,
        paused_at=admin.paused_at,
        resumed_at=admin.fixed_at,
    )


def _run_week(
    deployed: DeployedAccount, account: _Account, week: Week, execution_input: Any = None
) -> None:
    sim = account.sim
    calls_before = len(sim.calls)
    deleted_before = len(sim.deleted)
    fleet_images_before = account.fleet_images()

    def watch(invocation: Invocation, _: timedelta) -> None:
        week.peak_images = max(week.peak_images, sim.image_count)
        if invocation.step == "retain" and isinstance(invocation.result, dict):
            retention = invocation.result.get("retention") or {}
            week.kept |= {k["name"]: k["reason"] for k in retention.get("kept", [])}

    execution = deployed.run(account.clock, execution_input, on_invocation=watch)
    week.execution = execution
    week.status = execution.status
    week.failed = execution.status != "SUCCEEDED"
    week.emails = [email.subject for email in execution.emails]
    week.events += [event["detail-type"] for event in execution.events]
    run_calls = sim.calls[calls_before:]
    week.created = [
        str(c.params["newImageName"])
        for c in run_calls
        if c.operation == "CreateUpdatedImage" and not c.params.get("dryRun") and c.error is None
    ]
    week.quota_refusals = sum(
        1
        for c in run_calls
        if c.operation == "CreateUpdatedImage" and c.error == "LimitExceededException"
    )
    images = sim.images
    week.outcomes = {name: images[name]["State"] for name in week.created if name in images}
    week.deleted = sim.deleted[deleted_before:]
    week.protected_deleted = [
        name
        for name in week.deleted
        if name in account.protected
        or name in fleet_images_before
        or not naming.is_derived_name(ROOT, name)
    ]
    week.images_after = len(images)
    week.peak_images = max(week.peak_images, week.images_after)


def _resume(deployed: DeployedAccount, account: _Account) -> tuple[str, list[str]]:
    """The admin, after fixing the cause: `make run-now ARGS=--resume-schedule`."""
    from tools.run_now.resume import resume_schedule

    deployed.use_clock(account.clock)
    resume_schedule(
        boto3.Session(region_name=REGION),
        deployed.deployment.schedule_name,
        deployed.deployment.ledger_table,
        io.StringIO(),
    )
    announced = [event["detail-type"] for event in published_events()]
    return "the admin fixed the cause and ran run-now --resume-schedule", announced


def _schedule_state(deployed: DeployedAccount) -> str:
    scheduler = boto3.client("scheduler", region_name=REGION)
    return str(scheduler.get_schedule(Name=deployed.deployment.schedule_name)["State"])


def _breaker_count(deployed: DeployedAccount) -> int:
    from image_updater.ledger import Ledger

    return Ledger(deployed.deployment.ledger_table).failed_scheduled_runs()


def _iter_months(weeks: list[Week]) -> Iterator[tuple[str, list[Week]]]:
    months: dict[str, list[Week]] = {}
    for week in weeks:
        months.setdefault(f"{week.fired:%Y-%m}", []).append(week)
    yield from months.items()


# --- the report -------------------------------------------------------------------------------


def _short_reasons(kept: dict[str, str]) -> str:
    if not kept:
        return "-"
    reasons = Counter(kept.values())
    return "; ".join(f"{n} {reason}" for reason, n in reasons.most_common())


def print_year(year: Year, seconds: float | None = None) -> None:
    print("AppStream image updater: offline rehearsal, scenario 'year'")
    about = (
        f"{WEEKS} weekly scheduled runs ({CONTEXT['scheduleExpression']}, UTC) of the "
        f"synthesized workflow for {ROOT}, defaults otherwise (keepImages 2, "
        "maxConsecutiveFailedRuns 3).",
        f"The account: AppStream's default quotas ({year.image_quota} images, 10 image "
        f"builders, 5 concurrent updates); {', '.join(OTHER_IMAGES)} (not the updater's); "
        f"image builder {IMAGE_BUILDER}; fleets {PRODUCTION_FLEET} (on {ROOT}) and {OTHER_FLEET}.",
        f"Patches every second Tuesday; the admin moves {PRODUCTION_FLEET} to the newest image "
        f"in months {', '.join(map(str, FLEET_MOVES))}; month {FAILING_MONTH}'s update fails "
        "until the breaker pauses the schedule.",
    )
    for paragraph in about:
        print(textwrap.fill(paragraph, width=96, initial_indent="  ", subsequent_indent="    "))
    print()
    header = (
        f"{'Month':<8} {'Runs':>4} {'New':>4} {'Failed':>6} {'Deleted':>7} "
        f"{'E-mails':>7} {'Events':>6} {'Images':>7}  Kept beyond keepImages (why)"
    )
    print(header)
    print("-" * len(header))
    for month, weeks in _iter_months(year.weeks):
        runs = [w for w in weeks if w.execution is not None]
        available = sum(1 for w in weeks for o in w.outcomes.values() if o == "AVAILABLE")
        failed = sum(1 for w in weeks for o in w.outcomes.values() if o == "FAILED")
        paused = len(weeks) - len(runs)
        kept = next((w.kept for w in reversed(runs) if w.kept), {})
        print(
            f"{month:<8} {len(runs):>4} {available:>4} {failed:>6} "
            f"{sum(len(w.deleted) for w in weeks):>7} {sum(len(w.emails) for w in weeks):>7} "
            f"{sum(len(w.events) for w in weeks):>6} "
            f"{max((w.peak_images for w in weeks), default=0):>4}/{year.image_quota:<2}  "
            f"{_short_reasons(kept)}" + (f"  ({paused} paused)" if paused else "")
        )
    print("\nWhat happened (besides the weekly runs that found nothing to do):")
    entries: list[tuple[datetime, str]] = []
    for week in year.weeks:
        entries += week.happenings
        if week.started_by == "hand":
            entries.append((week.fired, f"run started by hand: {week.status}"))
        entries += [(week.fired, f"e-mail: {subject}") for subject in week.emails]
        if week.status == "PAUSED":
            entries.append((week.fired, "no run: the schedule is paused"))
    for when, text in sorted(entries, key=lambda entry: entry[0]):
        print(f"  {when:%a %b %d}  {text}")
    _print_totals(year, seconds)


def _print_totals(year: Year, seconds: float | None) -> None:
    usage = year.usage()
    print("\nThe year in numbers")
    scheduled = year.scheduled_runs
    print(
        f"  Runs: {len(scheduled)} scheduled ({sum(w.failed for w in scheduled)} FAILED, "
        f"{len(year.weeks) - len(year.runs)} skipped while paused), "
        f"{len(year.runs) - len(scheduled)} started by hand"
    )
    calls = year.appstream_calls
    _print_wrapped(f"AppStream calls: {sum(calls.values()):,} ({_counts(calls)})")
    print(f"  Lambda invocations: {year.lambda_invocations:,}")
    print(f"  State transitions: {year.state_transitions:,}")
    _print_wrapped(f"Other AWS requests by the functions: {_counts(year.service_calls)}")
    print(f"  E-mails: {usage.emails}; EventBridge events: {usage.events}")
    refused = sum(week.quota_refusals for week in year.weeks)
    protected = [name for week in year.weeks for name in week.protected_deleted]
    print(
        f"  Creates refused for a quota: {refused}; peak images: "
        f"{max(week.peak_images for week in year.weeks)} of {year.image_quota}; "
        f"protected images deleted: {', '.join(protected) or 'none'}"
    )
    created = sum(len(w.created) for w in year.weeks)
    print(f"  Updates started: {created}; image-builder hours: {year.build_hours:g}")
    print(
        f"  Breaker: paused {year.paused_at:%Y-%m-%d}, resumed {year.resumed_at:%Y-%m-%d}"
        if year.paused_at and year.resumed_at
        else "  Breaker: never paused"
    )
    print(
        f"  End of the year: schedule {year.schedule_state}, breaker count {year.breaker_count}, "
        f"last run {year.runs[-1].status if year.runs else '-'}"
    )
    print("\nWhat the pipeline cost (us-east-1 list prices, no free tier; rehearsal/costs.py)")
    lines = costs.cost_lines(usage)
    for line in lines:
        print(f"  {line.item:<18} {_dollars(line.dollars):>8}  {line.arithmetic}")
    print(f"  {'Total':<18} {_dollars(sum(line.dollars for line in lines)):>8}")
    _print_wrapped(
        f"Not included: the updates' {year.build_hours:g} image-builder hours, billed at the "
        "instance type's hourly rate, as for any image builder."
    )
    if seconds is not None:
        print(f"\n({seconds:.0f} s here)")


def _print_wrapped(text: str) -> None:
    print(textwrap.fill(text, width=96, initial_indent="  ", subsequent_indent="    "))


def _dollars(amount: float) -> str:
    return "< $0.01" if 0 < amount < 0.005 else f"${amount:,.2f}"


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counter.most_common())


def report(year: Year) -> str:
    """What `make rehearse ARGS=year` prints (without its timing), for the README."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_year(year)
    return out.getvalue().rstrip()


def main() -> int:
    began = time.monotonic()
    year = simulate_year()
    print_year(year, time.monotonic() - began)
    return 0
