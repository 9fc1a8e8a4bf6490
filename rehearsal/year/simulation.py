"""The year run: one deployment, one simulated account, 52 scheduled runs and what people and
AWS do between them."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from image_updater.domain import naming
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import (
    REGION,
    DeployedAccount,
    Invocation,
    SimulatedClock,
    WorkflowRunner,
    published_events,
)
from rehearsal.year.record import Week, Year
from rehearsal.year.setting import (
    BY_HAND_INPUT,
    CONTEXT,
    FAILING_MONTH,
    FAILURE_REASON,
    FIRST_RUN,
    FLEET_MOVES,
    IMAGE_BUILDER,
    OTHER_FLEET,
    OTHER_IMAGES,
    PRODUCTION_FLEET,
    RESUMED_AFTER_PAUSE,
    ROOT,
    UPDATE_TAKES,
    WEEKS,
    patch_tuesday,
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
    from image_updater.breaker.ledger import BreakerLedger

    return BreakerLedger(deployed.deployment.ledger_table).failed_scheduled_runs()
