"""`make rehearse`: a full scheduled run of the deployed pipeline, offline.

    python -m rehearsal [SCENARIO]      (default: "default"; --list shows them all)

Synthesizes the CDK app, runs its state machine in moto with the real Lambda handlers
against a simulated AppStream, shows progress in simulated time, then the e-mails exactly
as subscribers receive them, then a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from infra.workflow import states
from rehearsal import attacks, dashboard, organisation, year
from rehearsal.appstream import SimulatedAppStream
from rehearsal.runner import (
    ApprovalListener,
    ApprovalRequest,
    Execution,
    Invocation,
    ProgressListener,
    SimulatedClock,
    WorkflowRunner,
)
from rehearsal.scenarios import SCENARIOS, DuringRun, Scenario, approval_by_run_now


def _clock_text(elapsed: timedelta) -> str:
    minutes = int(elapsed.total_seconds() // 60)
    return f"+{minutes // 60:02d}:{minutes % 60:02d}"


def describe(invocation: Invocation) -> tuple[str, str]:
    """(image, what happened) for one Lambda invocation, in an admin's words."""
    event, result = invocation.event, invocation.result
    task = event.get("task", event) if isinstance(event, dict) else {}
    image = task.get("rootImageName", "") if isinstance(task, dict) else ""
    if invocation.error:
        return image, f"{invocation.step}: {invocation.error}: {result.get('errorMessage', '')}"
    if invocation.step == "plan":
        images = ", ".join(result["images"])
        return "", f"run planned for {images}" + (" (dry run)" if result["dryRun"] else "")
    if invocation.step == "check":
        action = result["action"]
        source = (result.get("source") or {}).get("name")
        if action == "UPDATE":
            return image, f"updates available for {source}; will create {result['newImageName']}"
        if action == "FOLLOW":
            return image, f"an update is already in progress: following {result['newImageName']}"
        if action == "LATE_REPORT":
            return image, (
                f"an earlier run's update settled unreported: {result['newImageName']} is "
                f"{result['image']['state']}; reporting it"
            )
        return image, f"no updates available for {source}"
    if invocation.step == "create":
        if result["action"] == "NO_UPDATE":
            return image, "another run's update finished meanwhile: nothing left to do"
        if result["newImageName"] != event.get("newImageName"):
            return image, f"another run started the update: following {result['newImageName']}"
        return image, f"update started: {result['newImageName']} is {result['image']['state']}"
    if invocation.step == "poll":
        state = result["image"]["state"]
        ending = f" -> {result['outcome']}" if result.get("outcome") else ""
        return image, f"status check #{result['polls']}: {state}{ending}"
    return _later_steps(invocation, image)


def _later_steps(invocation: Invocation, image: str) -> tuple[str, str]:
    """After the update: retention, the breaker, the roll-out, and the e-mails."""
    event, result = invocation.event, invocation.result
    if invocation.step == "retain":
        return image, _retention_text(result.get("retention") or {})
    if invocation.step == "breaker":
        return "", (
            f"run recorded for the circuit breaker: {result['action']} "
            f"({result['consecutiveFailedRuns']} failed scheduled runs in a row)"
        )
    if invocation.step.startswith("rollout_") and invocation.step != "rollout_report":
        return image, _rollout_text(invocation.step, event, result)
    return result.get("image", image), f"e-mail written: {result['subject']}"


def _fleets(notes: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{n['fleet']}" + (f" (was {n['note']})" if n.get("note") else "") for n in notes
    )


def _rollout_text(step: str, event: dict[str, Any], result: dict[str, Any]) -> str:
    """A roll-out step, in an admin's words."""
    outcome = result.get("outcome")
    if step == "rollout_plan":
        if outcome == "NO_FLEETS":
            return "roll-out: no fleet follows this lineage"
        passed = "; ".join(f"{n['fleet']}: {n['note']}" for n in result["passedOver"])
        return (
            f"roll-out planned: canary {', '.join(result['canaries']) or 'none'}; production "
            f"{', '.join(result['production']) or 'none'}"
            + (f"; passed over {passed}" if passed else "")
        )
    if step == "rollout_fleets":
        action = event.get("action")
        if action == "roll-back-canaries":
            return f"canaries rolled back: {_fleets(result['rolledBack']) or 'none'}"
        stage = "canary" if action == "update-canaries" else "production"
        changed = [n for n in result["updated"] if n.get("stage") == stage]
        refused = "; ".join(f"{n['fleet']}: {n['note']}" for n in result["notUpdated"])
        return f"{stage} fleets now on {result['newImageName']}: {_fleets(changed) or 'none'}" + (
            f"; refused: {refused}" if refused else ""
        )
    if step == "rollout_health":
        if result["healthy"]:
            return "canaries healthy after the soak"
        return "canaries UNHEALTHY: " + "; ".join(result["problems"])
    if step == "rollout_approval":
        return "waiting for approval (the run-now command is in the e-mail)"
    if step == "rollout_verify":
        approval = result.get("approval") or {}
        if approval.get("by"):
            return f"answer verified: {approval.get('decision')}, recorded for {approval['by']}"
        return "no decision recorded by the approval function: what ended the wait is ignored"
    if step == "rollout_window":
        approval = result.get("approval") or {}
        by = f"approved by {approval['by']}; " if approval.get("by") else ""
        return f"{by}production window starts {result['windowStart']}"
    return str(outcome)


def _retention_text(retention: dict[str, Any]) -> str:
    if "Error" in retention:
        return f"retention did not run: {retention['Error']}"
    deleted = ", ".join(retention.get("deleted", [])) or "none"
    kept = "; ".join(f"{k['name']} ({k['reason']})" for k in retention.get("kept", []))
    return f"older images deleted: {deleted}" + (f"; kept: {kept}" if kept else "")


class _Progress:
    """Progress lines, printed in simulated-time order once the run has ended (images run in
    parallel, so their steps happen out of order in real time)."""

    def __init__(self) -> None:
        self.lines: list[tuple[timedelta, int, str]] = []

    def add(self, elapsed: timedelta, image: str, text: str) -> None:
        self.lines.append(
            (elapsed, len(self.lines), f"  {_clock_text(elapsed)}  {image:<18} {text}")
        )

    def invocation(self, invocation: Invocation, elapsed: timedelta) -> None:
        self.add(elapsed, *describe(invocation))

    def print(self) -> None:
        for _, _, line in sorted(self.lines):
            print(line)
        self.lines.clear()


def _print_header(scenario: Scenario, runner: WorkflowRunner) -> None:
    variables = runner.app.function_environment
    print(f"AppStream image updater: offline rehearsal, scenario '{scenario.name}'")
    print(f"  {scenario.summary}")
    for note in scenario.notes:
        print(f"  {note}")
    schedule = runner.app.schedule["Properties"]
    print(
        f"\nSchedule: {schedule['ScheduleExpression']} "
        f"({schedule.get('ScheduleExpressionTimezone', 'UTC')}); "
        f"poll every {runner.app.poll_interval_minutes} min, "
        f"give up after {variables['MAX_UPDATE_HOURS']} h"
    )
    print("\nDashboard deployed with the stack (CloudWatch; its URL: the DashboardUrl output):")
    print("\n".join(dashboard.describe(runner.app.template)))
    payload = scenario.execution_input or runner.app.schedule_input
    print(f"\nExecution input: {json.dumps(payload)}")
    print("\nProgress (simulated time since the schedule fired):")


def _print_emails(execution: Execution) -> None:
    print(f"\nE-mails sent to the topic ({len(execution.emails)}):")
    for number, email in enumerate(execution.emails, 1):
        attributes = ", ".join(f"{k}={v}" for k, v in sorted(email.attributes.items()))
        print(f"\n----- e-mail {number} " + "-" * 60)
        print(f"Subject: {email.subject}")
        print(f"Message attributes: {attributes}\n")
        print(email.body.rstrip())
    print("-" * 75)


def _print_summary(execution: Execution, seconds: float, calls_before: int = 0) -> None:
    elapsed = execution.elapsed
    print("\nSummary")
    print(
        f"  Execution: {execution.status} after {_clock_text(elapsed)[1:]} h:min of simulated "
        f"time ({seconds:.1f} s here)" + (f"; error {execution.error}" if execution.error else "")
    )
    for result in _results(execution):
        new_image = f" -> {result['newImageName']}" if result.get("newImageName") else ""
        print(f"  {result['image']}: {result['outcome']}{new_image}")
    run_calls = execution.sim.calls[calls_before:]
    calls = Counter(call.operation for call in run_calls)
    steps = Counter(invocation.step for invocation in execution.invocations)
    print(f"  AppStream calls: {sum(calls.values())} ({_counts(calls)})")
    print(f"  Lambda invocations: {sum(steps.values())} ({_counts(steps)})")
    print(f"  State transitions: {len(execution.states)}")
    created = [c for c in run_calls if c.operation == "CreateUpdatedImage"]
    started = [c for c in created if not c.params.get("dryRun") and c.error is None]
    print(f"  Images created: {len(started)}")
    for rollout in _rollouts(execution):
        if rollout["outcome"] not in ("NO_FLEETS", "NO_UPDATE", "DRY_RUN"):
            print(f"  Roll-out of {rollout['image']}: {rollout['outcome']}")
    if execution.sim.fleets:
        fleets = "; ".join(
            f"{name} {fleet.get('ImageName') or fleet.get('ImageArn') or '(no image)'}"
            for name, fleet in execution.sim.fleets.items()
        )
        print(f"  Fleets at the end: {fleets}")


def _results(execution: Execution) -> list[dict[str, Any]]:
    output = execution.output or {}
    if isinstance(output, dict) and "results" in output:
        return list(output["results"])
    for event in reversed(execution.history):
        details = event.get("mapStateExitedEventDetails") or event.get("stateExitedEventDetails")
        if details and details.get("name") == states.UPDATE_EACH_IMAGE:
            return list(json.loads(details["output"]).get("results", []))
    return []


def _rollouts(execution: Execution) -> list[dict[str, Any]]:
    """Each image's roll-out result (the run's output, or its history when it failed)."""
    for event in reversed(execution.history):
        details = event.get("mapStateExitedEventDetails") or event.get("stateExitedEventDetails")
        if details and details.get("name") == states.ROLL_OUT_EACH_IMAGE:
            rollouts = json.loads(details["output"]).get("rollouts") or []
            return [r for r in rollouts if isinstance(r, dict) and r.get("outcome")]
    return []


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counter.most_common())


class _Timeline:
    """The simulated account's time: each run has a clock of its own, AppStream follows the
    current one."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now()


def _listener(
    progress: _Progress, sim: SimulatedAppStream, during: DuringRun | None
) -> ProgressListener:
    def listen(invocation: Invocation, elapsed: timedelta) -> None:
        progress.invocation(invocation, elapsed)
        if during is not None:
            for image, text in during(invocation, sim):
                progress.add(elapsed, image, f"(meanwhile) {text}")

    return listen


def _approver(progress: _Progress, clock: SimulatedClock, scenario: Scenario) -> ApprovalListener:
    """Answers a roll-out's approval as the scenario says, with the real run-now tool."""

    def answer(request: ApprovalRequest) -> None:
        clock.use_lane(request.image)
        if scenario.approval is None:
            progress.add(
                clock.now() - clock.start + timedelta(seconds=request.timeout_seconds),
                str(request.image),
                f"(meanwhile) nobody answered the approval request for "
                f"{request.timeout_seconds // 3600} h: it timed out",
            )
            return
        hours, command = scenario.approval
        printed = approval_by_run_now(hours, command)(request)
        clock.use_lane(request.image)
        progress.add(
            clock.now() - clock.start,
            str(request.image),
            f'(meanwhile) the admin ran: make run-now ARGS="{command} <execution> --image '
            f'{request.image}" -> {printed.splitlines()[0]}',
        )

    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rehearsal", description=__doc__.split("\n")[0])
    parser.add_argument(
        "scenario",
        nargs="?",
        default="default",
        choices=sorted([*SCENARIOS, "organisation", "rollout-attacks", "year"]),
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    if args.list:
        for scenario in SCENARIOS.values():
            print(f"{scenario.name:<18} {scenario.summary}")
        print(f"{'rollout-attacks':<18} {attacks.SUMMARY}")
        print(f"{'year':<18} {year.SUMMARY}")
        print(f"{'organisation':<18} {organisation.SUMMARY}")
        return 0
    if args.scenario == "organisation":
        return organisation.main()
    if args.scenario == "year":
        return year.main()
    if args.scenario == "rollout-attacks":
        return attacks.main(_Progress)

    scenario = SCENARIOS[args.scenario]
    runner = WorkflowRunner(scenario.context)
    first = SimulatedClock()
    clocks = [first] + [SimulatedClock(first.start + later) for later in scenario.later_runs]
    timeline = _Timeline(first)
    sim = SimulatedAppStream(clock=timeline.now)
    scenario.prepare(sim)
    _print_header(scenario, runner)
    for number, clock in enumerate(clocks, 1):
        timeline.clock = clock
        if len(clocks) > 1:
            print(f"\n===== run {number}: {clock.start:%Y-%m-%d %H:%M} UTC " + "=" * 40)
        during = scenario.during_first_run() if scenario.during_first_run and number == 1 else None
        calls_before = len(sim.calls)
        began = time.monotonic()
        progress = _Progress()
        execution = runner.run(
            sim,
            clock,
            scenario.execution_input,
            on_invocation=_listener(progress, sim, during),
            on_approval=_approver(progress, clock, scenario),
        )
        progress.print()
        _print_emails(execution)
        _print_summary(execution, time.monotonic() - began, calls_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
