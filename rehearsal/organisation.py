"""A small organisation, offline: a hub that patches two images, copies each to two more Regions
and shares it with two spoke accounts (each image's distribution a child execution of the
hub's run), then each spoke's stack rolling the shared images out to its own tagged fleets
(canary, health, a person's approval with the real `run-now approve`, production), by ARN.
A week later the hub's second cycle (rehearsal/organisation_retention.py) patches each image
again with `keepImages` 1: its retention keeps the first cycle's image a spoke still runs and
unshares it from the spoke that moved away. Printed per Region and account, with the history
each execution used against Step Functions' 25,000 events.

What it simulates: the hub's account in three Regions (AppStream's copies, shares and the copy
quota), and each spoke's account. What it does not: the runner deploys every stack in its one
Region (us-east-1), so the spokes run in the hub's home Region; in the copy Regions the
rehearsal shows the copy and its shares to each account, which a spoke stack there would
find the same way (`DescribeImages(Type=SHARED)`, the hub's ARN). The approver's identity
is in the runner's one account too (the spokes' approval functions all run there). The spoke
stacks in the copy Regions hold no fleets; there the first cycle's copy is still the newest
when retention runs (this cycle's copy comes after it), so retention has nothing to do.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from image_updater.rollout.models import FOLLOWS_TAG, STAGE_TAG
from infra.config.distribution import EVENTS_PER_CHILD_EXECUTION, image_distribution_events
from infra.config.history import HISTORY_EVENTS_MAX
from rehearsal.approvals import APPROVER, APPROVERS_ROLE
from rehearsal.appstream import Organisation as Accounts
from rehearsal.appstream import SimulatedAppStream
from rehearsal.organisation_retention import LaterRun, later_hub_run, retention_lines
from rehearsal.runner import (
    ApprovalRequest,
    Execution,
    SimulatedClock,
    WorkflowRunner,
    set_alarm_state,
)
from rehearsal.scenarios import approval_by_run_now

SUMMARY = (
    "a hub patches 2 images, copies them to 2 Regions, shares with 2 accounts; spokes roll out "
    "(approved); a week later the hub's retention keeps what a spoke still runs"
)
HUB = "123456789012"
SPOKES = ("222222222222", "333333333333")
HOME, COPY_REGIONS = "us-east-1", ("eu-west-1", "ap-northeast-1")
IMAGES = ("SalesApps", "EngineeringTools")
CANARY_ALARM = "CanaryErrors"
_EMAILS = "ops@example.com"


def hub_context() -> dict[str, Any]:
    return {
        "imageNames": ",".join(IMAGES),
        "notificationEmails": _EMAILS,
        "copyToRegions": ",".join(COPY_REGIONS),
        "shareWithAccounts": json.dumps([{"accountId": account} for account in SPOKES]),
    }


def spoke_context() -> dict[str, Any]:
    return {
        "imageNames": ",".join(IMAGES),
        "notificationEmails": _EMAILS,
        "hubAccountId": HUB,
        "canaryAlarmNames": CANARY_ALARM,
        "canarySoakHours": "1",
        "requireApproval": "true",
        "approvers": APPROVERS_ROLE,
    }


APPROVAL_HOURS = 2  # each spoke's approver answers two hours after being asked


@dataclass
class Approval:
    """One production roll-out approved in a spoke: by whom, when, and what the tool said."""

    image: str
    asked: datetime
    answered: datetime
    approver: str
    printed: str


class _Timeline:
    """An account's time: each run has a clock of its own, AppStream follows the current one."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now()


@dataclass
class Organisation:
    """What the rehearsal did, read back from the simulations (the test checks these)."""

    hub: SimulatedAppStream
    hub_run: Execution
    new_images: dict[str, str]  # configured image -> the hub's new image
    spokes: dict[str, SimulatedAppStream] = field(default_factory=dict)
    spoke_runs: dict[str, Execution] = field(default_factory=dict)
    approvals: dict[str, list[Approval]] = field(default_factory=dict)
    # image -> Region -> its state and the accounts it is shared with, as the hub's run left
    # them (the second cycle's retention unshares some)
    distributed: dict[str, dict[str, tuple[str | None, list[str]]]] = field(default_factory=dict)
    # each spoke's fleets as its run left them (before the second cycle changes one spoke's)
    rolled_out: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    later: LaterRun | None = None  # the hub's second cycle, its retention


# Between the cycles, this spoke moves its EngineeringTools fleets back to its own image: the
# first cycle's EngineeringTools image is then used by the other spoke only.
MOVES_AWAY, MOVED = SPOKES[1], "EngineeringTools"


def _approver(clock: SimulatedClock, approvals: list[Approval]) -> Any:
    """The spoke's approver, with the real `make run-now ARGS="approve ..."`."""
    approve = approval_by_run_now(APPROVAL_HOURS, "approve")

    def answer(request: ApprovalRequest) -> None:
        clock.use_lane(request.image)
        asked = clock.now()
        printed = approve(request)
        clock.use_lane(request.image)
        approvals.append(
            Approval(str(request.image), asked, clock.now(), APPROVER, printed.splitlines()[0])
        )

    return answer


def rehearse() -> Organisation:
    """The hub's run, then each spoke's, the spokes starting when the hub's run has ended."""
    start = SimulatedClock()
    timeline = _Timeline(start)
    hub = SimulatedAppStream(account_id=HUB, clock=timeline.now)
    before = start.start - timedelta(days=30)
    for image in IMAGES:
        hub.add_image(image, updates_available=True, created_time=before)
        hub.script_update(image, duration=timedelta(hours=2))
    for region in COPY_REGIONS:
        hub.in_region(region).script_copies(duration=timedelta(minutes=50))
    hub_run = WorkflowRunner(hub_context()).run(hub, start)
    new_images = {
        image: name
        for image in IMAGES
        for name in hub.images
        if name.startswith(f"{image}-") and name != image
    }
    organisation = Organisation(hub=hub, hub_run=hub_run, new_images=new_images)
    for name in new_images.values():
        for region in (HOME, *COPY_REGIONS):
            there = hub if region == HOME else hub.in_region(region)
            found = there.images.get(name)
            organisation.distributed.setdefault(name, {})[region] = (
                found["State"] if found else None,
                sorted(there.shares(name)) if found else [],
            )
    accounts = Accounts(hub)  # the spokes' accounts, as the hub's reader role reaches them
    spoke_runner = WorkflowRunner(spoke_context())
    for account in SPOKES:
        clock = SimulatedClock(start.start + hub_run.elapsed + timedelta(minutes=30))
        timeline.clock = clock
        spoke = accounts.account(account)
        spoke.add_image("TeamBase", created_time=before)
        for image in IMAGES:
            for stage in ("canary", "production"):
                spoke.add_fleet(
                    f"{image}-{stage}",
                    image="TeamBase",
                    tags={FOLLOWS_TAG: image, STAGE_TAG: stage},
                )
        set_alarm_state(spoke, CANARY_ALARM, "OK")
        for name in new_images.values():
            if account in hub.shares(name):
                spoke.receive_shared_image(
                    name,
                    owner_account=HUB,
                    description=hub.images[name]["Description"],
                    created_time=hub.images[name]["CreatedTime"],
                )
        organisation.spokes[account] = spoke
        approvals = organisation.approvals.setdefault(account, [])
        organisation.spoke_runs[account] = spoke_runner.run(
            spoke, clock, on_approval=_approver(clock, approvals)
        )
        organisation.rolled_out[account] = copy.deepcopy(spoke.fleets)
    for stage in ("canary", "production"):
        organisation.spokes[MOVES_AWAY].set_fleet_image(f"{MOVED}-{stage}", "TeamBase")
    timeline.clock = SimulatedClock(start.start + timedelta(days=7))
    organisation.later = later_hub_run(
        hub,
        accounts,
        hub_context(),
        timeline.clock,
        new_images,
        regions=(HOME, *COPY_REGIONS),
        spoke_ledger=spoke_runner.app.ledger_table,
    )
    return organisation


def _hours(elapsed: timedelta) -> str:
    minutes = int(elapsed.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def report(organisation: Organisation) -> list[str]:
    """What happened, per Region and account."""
    hub, run = organisation.hub, organisation.hub_run
    lines = [
        f"Hub {HUB} ({HOME}): run {run.status}, {_hours(run.elapsed)} of simulated time",
        f"  history: {len(run.history):,} events in the run (limit {HISTORY_EVENTS_MAX:,}; "
        f"{EVENTS_PER_CHILD_EXECUTION} allowed per image's distribution)",
    ]
    for child in run.children:
        image = child.input["rootImageName"]
        lines.append(
            f"  child execution for {image}: {child.status}, {len(child.history)} events "
            f"(allowed {image_distribution_events(len(COPY_REGIONS)):,}), name "
            f"{child.name[:12]}... ({len(child.name)} characters)"
        )
    for image, name in organisation.new_images.items():
        lines.append(f"  {image} -> {name}")
        for region, (found, accounts) in organisation.distributed[name].items():
            state = "the original" if region == HOME else found or "no copy"
            shares = ", ".join(accounts) if found else "-"
            lines.append(f"    {region:<16}{state:<14}shared with {shares}")
    subjects = [email.subject for email in run.emails]
    lines.append(f"  e-mails: {len(subjects)}: " + "; ".join(subjects))
    for account in organisation.spokes:
        spoke_run = organisation.spoke_runs[account]
        lines.append(
            f"Spoke {account} ({HOME}): run {spoke_run.status}, {_hours(spoke_run.elapsed)}"
        )
        for fleet, pointed in sorted(organisation.rolled_out[account].items()):
            arn = pointed.get("ImageArn", "")
            owner = arn.split(":")[4] if arn.count(":") >= 5 else "?"
            lines.append(f"    {fleet:<30}{pointed['ImageName']:<34}(owner {owner})")
        for approval in organisation.approvals.get(account, []):
            lines.append(
                f"  approval of {approval.image}: asked {approval.asked:%H:%M} UTC, approved "
                f"{approval.answered:%H:%M} UTC by {approval.approver}"
            )
        lines.append("  e-mails: " + "; ".join(email.subject for email in spoke_run.emails))
    if organisation.later is not None:
        lines.append(
            f"Between the cycles: spoke {MOVES_AWAY} moves its {MOVED} fleets back to TeamBase"
        )
        lines += retention_lines(hub, organisation.later, HOME, COPY_REGIONS)
    return lines


def main() -> int:
    began = time.monotonic()
    print(f"AppStream image updater: offline rehearsal, scenario 'organisation'\n  {SUMMARY}")
    print(
        f"  hub {HUB}: images {', '.join(IMAGES)}; copies to {', '.join(COPY_REGIONS)}; "
        f"shares with {', '.join(SPOKES)}\n"
    )
    for line in report(rehearse()):
        print(line)
    print(f"\n({time.monotonic() - began:.0f} s)")
    return 0
