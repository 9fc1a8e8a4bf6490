"""Named situations for the offline rehearsal: a configuration and a scripted AppStream."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from rehearsal.approvals import APPROVERS_ROLE
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import ApprovalRequest, Invocation, StepByStepRun, set_alarm_state

# Something that happens while the first run works: called after each of its Lambda steps;
# returns (image, what happened) lines for the progress.
DuringRun = Callable[[Invocation, SimulatedAppStream], list[tuple[str, str]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    context: dict[str, Any]
    prepare: Callable[[SimulatedAppStream], None]
    execution_input: Any = None
    notes: list[str] = field(default_factory=list)
    # Further scheduled runs, by how long after the first one they start.
    later_runs: tuple[timedelta, ...] = ()
    # Makes what happens while the first run works (a fresh one per rehearsal).
    during_first_run: Callable[[], DuringRun] | None = None
    # The approver of a roll-out: (hours after the request, "approve" or "reject"), or None
    # when nobody answers (the approval times out).
    approval: tuple[float, str] | None = None


_EMAILS = "ops@example.com"
_TWO_HOURS = timedelta(hours=2)


def _default(sim: SimulatedAppStream) -> None:
    sim.add_image("SalesApps", updates_available=True)
    sim.script_update("SalesApps", duration=_TWO_HOURS)
    sim.add_image("EngineeringTools", updates_available=False)


def _failure(sim: SimulatedAppStream) -> None:
    sim.add_image("SalesApps", updates_available=True)
    sim.script_update(
        "SalesApps",
        duration=timedelta(minutes=50),
        outcome="FAILED",
        reason_code="IMAGE_UPDATE_FAILURE",
        reason_message="Windows Update returned 0x80070643 while installing KB5034441.",
        errors=[("INTERNAL_SERVICE_ERROR", "The temporary image builder stopped unexpectedly.")],
    )


def _creating(params: Mapping[str, Any]) -> bool:
    """A failure's `when`: CreateUpdatedImage calls that create, not the dry runs."""
    return not params.get("dryRun", False)


def _throttling(sim: SimulatedAppStream) -> None:
    _default(sim)
    sim.fail("DescribeImages", "ThrottlingException", calls=2)
    sim.fail("CreateUpdatedImage", "ConcurrentModificationException", calls=1, when=_creating)


def _quota(sim: SimulatedAppStream) -> None:
    sim.add_image("SalesApps", updates_available=True)
    sim.fail(
        "CreateUpdatedImage",
        "LimitExceededException",
        calls=None,
        message="The number of images exceeds the quota for this account.",
        when=_creating,
    )


def _missing(sim: SimulatedAppStream) -> None:
    sim.add_image("SalesApps", updates_available=False)


def _many(sim: SimulatedAppStream) -> None:
    sim.set_quota(images=40)  # raised, as an account with ten images would have asked for
    for index in range(10):
        name = f"Pool{index:02d}"
        sim.add_image(name, updates_available=index % 3 != 2)
        sim.script_update(name, duration=timedelta(minutes=40 + 10 * index))


def _timeout(sim: SimulatedAppStream) -> None:
    sim.add_image("SalesApps", updates_available=True)
    sim.script_update("SalesApps", duration=timedelta(hours=5))


def _overlap(sim: SimulatedAppStream) -> None:
    sim.add_image("SalesApps", updates_available=True)
    sim.script_update("SalesApps", duration=_TWO_HOURS)
    # The scheduled run's first create meets a full images quota.
    sim.fail(
        "CreateUpdatedImage",
        "LimitExceededException",
        calls=1,
        message="The number of images exceeds the quota for this account.",
        when=_creating,
    )


class _StartByHandMeanwhile:
    """While the scheduled run waits to retry its create, an admin starts a run by hand
    (after freeing an image), and that run starts SalesApps' update."""

    def __init__(self) -> None:
        self.done = False

    def __call__(self, invocation: Invocation, _: SimulatedAppStream) -> list[tuple[str, str]]:
        if invocation.error != "UpdateQuotaExceeded" or self.done:
            return []
        self.done = True
        by_hand = StepByStepRun.minutes_after(invocation, 5)
        decided = by_hand.step("check")["action"]
        started = by_hand.step("create")
        return [
            (
                "SalesApps",
                f"a run started by hand: check -> {decided}, "
                f"create -> {started['action']} {started['newImageName']}",
            )
        ]


def _outlive(sim: SimulatedAppStream) -> None:
    sim.add_image("SalesApps", updates_available=True)
    sim.script_update("SalesApps", duration=timedelta(hours=3))


# The roll-out: a canary, two production fleets and one fleet the updater was not given.
ROLLOUT_ALARM = "Sales-Canary-Errors"
_ROLLOUT_CONTEXT = {
    "imageNames": "SalesApps",
    "notificationEmails": _EMAILS,
    "canarySoakHours": "24",
    "canaryAlarmNames": ROLLOUT_ALARM,
    "requireApproval": "true",
    "approvalTimeoutHours": "72",
    "approvers": APPROVERS_ROLE,
    "rolloutWindow": "cron(0 22 ? * SAT *)",
}


def _rollout(sim: SimulatedAppStream) -> None:
    from image_updater.rollout.models import FOLLOWS_TAG, STAGE_TAG

    sim.add_image("SalesApps", updates_available=True)
    sim.script_update("SalesApps", duration=_TWO_HOURS)
    for fleet, stage in (
        ("Sales-Canary", "canary"),
        ("Sales-Prod-1", "production"),
        ("Sales-Prod-2", "production"),
    ):
        sim.add_fleet(fleet, image="SalesApps", tags={FOLLOWS_TAG: "SalesApps", STAGE_TAG: stage})
    sim.add_fleet("Training", image="SalesApps")  # not tagged: never touched
    set_alarm_state(sim, ROLLOUT_ALARM, "OK")


def _rollout_unhealthy(sim: SimulatedAppStream) -> None:
    _rollout(sim)
    set_alarm_state(sim, ROLLOUT_ALARM, "ALARM")


def approval_by_run_now(hours: float, command: str) -> Callable[[ApprovalRequest], str]:
    """The approver: `hours` after the request, `make run-now ARGS="<command> ..."` with the
    real tool, against the offline deployment (moto); returns what the tool printed."""

    def approve(request: ApprovalRequest) -> str:
        import io
        from unittest import mock

        import boto3

        from rehearsal.approvals import URL, LocalFunctionUrl
        from tools import run_now
        from tools.run_now import approve as approve_command

        request.let_time_pass(hours * 3600)
        out = io.StringIO()
        argv = [command, request.execution_arn, "--image", str(request.image), "--url", URL]
        argv += ["--reason", "tested on the canary by the service desk"]
        # The function URL as AWS serves it (SigV4 checked, the approver's identity passed
        # on), in front of the real approval function.
        with mock.patch.object(approve_command, "send", LocalFunctionUrl()):
            code = run_now.main(
                argv, out, session_factory=lambda **kw: boto3.Session(region_name="us-east-1")
            )
        if code != 0:
            raise RuntimeError(f"run-now {command} exited {code}: {out.getvalue()}")
        return out.getvalue().strip()

    return approve


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "default",
            "two images: SalesApps gets a two-hour update, EngineeringTools is up to date",
            {
                "imageNames": "SalesApps,EngineeringTools",
                "notificationEmails": _EMAILS,
                "notifyNoUpdate": "true",
            },
            _default,
            notes=["notifyNoUpdate=true here, so the up-to-date e-mail is shown too."],
        ),
        Scenario(
            "failure",
            "the update of SalesApps ends FAILED",
            {"imageNames": "SalesApps", "notificationEmails": _EMAILS},
            _failure,
        ),
        Scenario(
            "throttling",
            "AppStream throttles and reports a concurrent modification; retries recover",
            {
                "imageNames": "SalesApps,EngineeringTools",
                "notificationEmails": _EMAILS,
            },
            _throttling,
        ),
        Scenario(
            "quota",
            "the image quota is reached; the updater retries for over an hour, then reports",
            {"imageNames": "SalesApps", "notificationEmails": _EMAILS},
            _quota,
        ),
        Scenario(
            "missing",
            "a configured image does not exist",
            {"imageNames": "SalesApps,Typo-Image", "notificationEmails": _EMAILS},
            _missing,
        ),
        Scenario(
            "many",
            "ten images, two updated at a time (maxConcurrentUpdates=2)",
            {
                "imageNames": ",".join(f"Pool{i:02d}" for i in range(10)),
                "notificationEmails": _EMAILS,
                "maxConcurrentUpdates": "2",
            },
            _many,
        ),
        Scenario(
            "overlap",
            "a run started by hand starts SalesApps' update while the scheduled run waits to "
            "retry a quota refusal; the scheduled run follows it: one image, one e-mail",
            {"imageNames": "SalesApps", "notificationEmails": _EMAILS},
            _overlap,
            during_first_run=_StartByHandMeanwhile,
        ),
        Scenario(
            "outlive",
            "the update takes 3 h, maxUpdateHours=1: the next day's run reports it, once",
            {"imageNames": "SalesApps", "notificationEmails": _EMAILS, "maxUpdateHours": "1"},
            _outlive,
            later_runs=(timedelta(days=1), timedelta(days=2)),
            notes=["Three scheduled runs, a day apart."],
        ),
        Scenario(
            "rollout",
            "SalesApps is updated and rolled out: canary fleet, 24 h soak, health check, "
            "approval with run-now, then two production fleets in Saturday's 22:00 window",
            _ROLLOUT_CONTEXT,
            _rollout,
            approval=(3, "approve"),
            notes=[
                "Fleets: Sales-Canary (canary), Sales-Prod-1 and Sales-Prod-2 (production), "
                "Training (not tagged: never touched). Alarm Sales-Canary-Errors is OK.",
                "The admin approves 3 h after the request with the run-now tool.",
            ],
        ),
        Scenario(
            "rollout-unhealthy",
            "the canary's alarm is in ALARM after the soak: the canary is rolled back, "
            "production never touched",
            _ROLLOUT_CONTEXT,
            _rollout_unhealthy,
        ),
        Scenario(
            "rollout-timeout",
            "nobody answers the approval request: after 72 h the roll-out ends, production "
            "as it was",
            _ROLLOUT_CONTEXT,
            _rollout,
        ),
        Scenario(
            "timeout",
            "the update takes longer than maxUpdateHours=3",
            {"imageNames": "SalesApps", "notificationEmails": _EMAILS, "maxUpdateHours": "3"},
            _timeout,
        ),
    )
}
